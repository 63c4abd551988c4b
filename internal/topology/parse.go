package topology

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and validates the topology file at path.
func Load(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology load: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("topology %s: %w", path, err)
	}
	return t, nil
}

// Parse decodes and validates a topology document. Errors are FieldErrors
// (several joined when validation finds more than one problem).
func Parse(data []byte) (*Topology, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &FieldError{Err: errors.New("empty document")}
	}
	d := &decoder{lines: map[string]int{}}
	var t Topology
	applyDefaults(reflect.ValueOf(&t).Elem())
	if err := d.decode("", doc.Content[0], reflect.ValueOf(&t).Elem()); err != nil {
		return nil, err
	}
	if err := t.validate(d.lines); err != nil {
		return nil, err
	}
	return &t, nil
}

// StatusRange is an inclusive range of HTTP statuses, written "200-299" or "204".
type StatusRange struct{ Lo, Hi int }

// UnmarshalYAML parses "lo-hi" or a single status.
func (s *StatusRange) UnmarshalYAML(n *yaml.Node) error {
	r, err := ParseStatusRange(n.Value)
	if err != nil {
		return err
	}
	*s = r
	return nil
}

// MarshalYAML writes the range back in its text form.
func (s StatusRange) MarshalYAML() (any, error) { return s.String(), nil }

func (s StatusRange) String() string {
	if s.Lo == s.Hi {
		return strconv.Itoa(s.Lo)
	}
	return fmt.Sprintf("%d-%d", s.Lo, s.Hi)
}

// ParseStatusRange parses "200-299" or "204".
func ParseStatusRange(v string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(v), "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return StatusRange{}, fmt.Errorf("%q is not a status or a range such as 200-299", v)
	}
	if l < 100 || h > 599 || l > h {
		return StatusRange{}, fmt.Errorf("%q: statuses must be within 100-599, low to high", v)
	}
	return StatusRange{l, h}, nil
}
