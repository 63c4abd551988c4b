package topology

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldError is a problem with one field of the file, named by its path.
type FieldError struct {
	Path string
	Line int // 0 when unknown
	Err  error
}

func (e *FieldError) Error() string {
	path := e.Path
	if path == "" {
		path = "(document)"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s: %v (line %d)", path, e.Err, e.Line)
	}
	return fmt.Sprintf("%s: %v", path, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// decoder walks a YAML node tree into a Go value, rejecting unknown
// fields and recording the line of every field for later validation errors.
type decoder struct {
	lines map[string]int
}

type defaulter interface{ setDefaults() }

var (
	durationType    = reflect.TypeOf(time.Duration(0))
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) error {
	return &FieldError{Path: path, Line: n.Line, Err: fmt.Errorf(format, args...)}
}

func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n.Line
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // keep defaults
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		return d.leaf(path, n, v)
	}
	switch {
	case v.Type() == durationType:
		return d.duration(path, n, v)
	case v.Kind() == reflect.Struct:
		return d.structure(path, n, v)
	case v.Kind() == reflect.Slice:
		return d.slice(path, n, v)
	case v.Kind() == reflect.Map:
		return d.mapping(path, n, v)
	default:
		return d.leaf(path, n, v)
	}
}

func (d *decoder) leaf(path string, n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.ScalarNode {
		return d.fail(path, n, "expected a single value, found a %s", kindName(n.Kind))
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			err = errors.New(stripLine(te.Errors[0]))
		}
		return &FieldError{Path: path, Line: n.Line, Err: err}
	}
	return nil
}

// stripLine drops yaml.v3's "line N: " prefix; FieldError adds the line.
func stripLine(s string) string {
	if strings.HasPrefix(s, "line ") {
		if i := strings.Index(s, ": "); i > 0 {
			return s[i+2:]
		}
	}
	return s
}

func (d *decoder) duration(path string, n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.ScalarNode {
		return d.fail(path, n, "expected a duration such as 500ms or 5s")
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		return d.fail(path, n, "%q is not a duration such as 500ms or 5s", n.Value)
	}
	v.SetInt(int64(dur))
	return nil
}

func (d *decoder) structure(path string, n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(path, n, "expected a mapping of fields, found a %s", kindName(n.Kind))
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		sub := join(path, key)
		idx, ok := fields[key]
		if !ok {
			return d.fail(sub, n.Content[i], "unknown field (known: %s)", knownList(v.Type()))
		}
		if seen[key] {
			return d.fail(sub, n.Content[i], "field given twice")
		}
		seen[key] = true
		if err := d.decode(sub, val, v.Field(idx)); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) slice(path string, n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.SequenceNode {
		return d.fail(path, n, "expected a list, found a %s", kindName(n.Kind))
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		applyDefaults(out.Index(i))
		if err := d.decode(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i)); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(path, n, "expected a mapping, found a %s", kindName(n.Kind))
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		sub := join(path, key)
		if out.MapIndex(reflect.ValueOf(key)).IsValid() {
			return d.fail(sub, n.Content[i], "key given twice")
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(sub, n.Content[i+1], elem); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(key), elem)
	}
	v.Set(out)
	return nil
}

// applyDefaults fills v and every struct nested in it (parents first)
// with their defaults, so omitted and null sections keep them.
func applyDefaults(v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	if df, ok := v.Addr().Interface().(defaulter); ok {
		df.setDefaults()
	}
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() {
			applyDefaults(v.Field(i))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps yaml tag names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if name := tagName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func knownList(t reflect.Type) string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if name := tagName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	default:
		return "node of kind " + strconv.Itoa(int(k))
	}
}
