package table

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrFilterValue reports a binding expression value that cannot go into a
// filter outside quotes (it is not a boolean or a number).
var ErrFilterValue = errors.New("invalid value for a filter parameter")

// BindFilter substitutes the binding expressions ({name}) of a table input
// binding's filter as OData literals, as the Azure table extension does
// (TableFilterFormatter): a parameter every occurrence of which is quoted
// ('{name}') gets its value with each quote doubled; any other parameter
// must be a boolean or a number, or the filter is refused. A filter that is
// a single expression and nothing else ("{filter}") is substituted as is,
// as in Azure: the app chose to take the whole filter from its trigger.
// lookup returns a parameter's value (names match case-insensitively).
func BindFilter(template string, lookup func(name string) (string, error)) (string, error) {
	params, err := filterParams(template)
	if err != nil || len(params) == 0 {
		return template, err
	}
	if len(params) == 1 && params[0].start == 0 && params[0].end == len(template) {
		return lookup(params[0].name)
	}
	quoted := quotedParams(template, params)
	var b strings.Builder
	last := 0
	for _, p := range params {
		v, err := lookup(p.name)
		if err != nil {
			return "", err
		}
		if quoted[strings.ToLower(p.name)] {
			v = strings.ReplaceAll(v, "'", "''")
		} else if !nonStringLiteral(v) {
			return "", fmt.Errorf("filter parameter {%s}: %w: %q is not a boolean or a number (quote it in the filter: '{%s}')", p.name, ErrFilterValue, v, p.name)
		}
		b.WriteString(template[last:p.start])
		b.WriteString(v)
		last = p.end
	}
	b.WriteString(template[last:])
	return b.String(), nil
}

// filterParam is one {name} of a filter template: template[start:end].
type filterParam struct {
	name       string
	start, end int
}

func filterParams(template string) ([]filterParam, error) {
	var out []filterParam
	for i := 0; i < len(template); {
		j := strings.IndexByte(template[i:], '{')
		if j < 0 {
			break
		}
		start := i + j
		k := strings.IndexByte(template[start:], '}')
		if k < 0 {
			return nil, fmt.Errorf("binding expression %q: missing '}'", template)
		}
		out = append(out, filterParam{name: template[start+1 : start+k], start: start, end: start + k + 1})
		i = start + k + 1
	}
	return out, nil
}

// quotedParams reports, per lower-cased name, whether every occurrence is
// written as a string literal '{name}'.
func quotedParams(template string, params []filterParam) map[string]bool {
	quoted := map[string]bool{}
	for _, p := range params {
		key := strings.ToLower(p.name)
		q := p.start > 0 && template[p.start-1] == '\'' && p.end < len(template) && template[p.end] == '\''
		if prev, seen := quoted[key]; seen {
			q = q && prev
		}
		quoted[key] = q
	}
	return quoted
}

// nonStringLiteral reports whether v is an OData boolean or number (the
// only values Azure lets into a filter outside quotes). Unlike .NET's
// parsers, no spaces, thousands separators, NaN or Infinity are allowed.
func nonStringLiteral(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return true
	}
	if strings.ContainsFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789+-.eE", r) }) {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}
