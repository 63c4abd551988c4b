// Package route parses and matches Azure Functions HTTP route templates
// (function.json "route"), which are ASP.NET Core route templates: literal
// segments matched case-insensitively, {name}, {name?}, {name=default},
// inline constraints such as {id:int:min(1)}, catch-alls {*rest} and
// {**rest}, and complex segments such as {name}.{ext?} or file-{id}.
//
// Parsing and matching follow ASP.NET Core's RoutePatternParser and
// RoutePatternMatcher. One deliberate difference: the Azure Functions host
// tries function routes in registration order, so "/api/{id}" can shadow
// "/api/ping"; Table orders candidates by ASP.NET Core's route precedence
// instead (literal before constrained parameter before parameter before
// catch-all), which is what users expect and what the well-known
// "route priority" extensions add to Azure.
package route

import (
	"fmt"
	"strings"
)

// Template is a parsed route template. It is immutable and safe for
// concurrent use.
type Template struct {
	text     string
	segments []segment
	names    []string
	digits   []byte // ASP.NET inbound precedence digit per segment
	loose    int    // parameters that may be absent (optional or defaulted)
}

type segment struct {
	parts []part
}

// part is one piece of a segment: a literal (or the "." separator before a
// trailing optional parameter) or a parameter.
type part struct {
	lit       []rune // literal text when param is nil
	separator bool
	param     *param
}

type param struct {
	name        string
	optional    bool
	catchAll    bool
	hasDefault  bool
	def         string
	constraints []constraint
}

// ParseError reports a template that cannot be parsed. Pos is the byte
// offset in Template where the problem was found; Param names the parameter
// involved, when there is one.
type ParseError struct {
	Template string
	Pos      int
	Param    string
	Msg      string
}

func (e *ParseError) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("route template %q: position %d: parameter %q: %s", e.Template, e.Pos, e.Param, e.Msg)
	}
	return fmt.Sprintf("route template %q: position %d: %s", e.Template, e.Pos, e.Msg)
}

// String returns the template text as given to Parse.
func (t *Template) String() string { return t.text }

// Names returns the parameter names in template order.
func (t *Template) Names() []string { return append([]string(nil), t.names...) }

// Precedence returns ASP.NET Core's inbound precedence as a decimal string
// ("1.13" for "api/template/{id}"): lower sorts first.
func (t *Template) Precedence() string {
	if len(t.digits) == 0 {
		return "0"
	}
	var b strings.Builder
	for i, d := range t.digits {
		b.WriteByte('0' + d)
		if i == 0 && len(t.digits) > 1 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// Compare orders templates for matching: negative when a should be tried
// before b. It compares ASP.NET Core inbound precedence segment by segment
// (literal 1, constrained parameter or complex segment 2, parameter 3,
// constrained catch-all 4, catch-all 5; a template that has ended sorts
// before one that goes on). Where ASP.NET Core would report an ambiguous
// match, templates with fewer optional or defaulted parameters come first,
// then the template text compared case-insensitively.
func Compare(a, b *Template) int {
	n := max(len(a.digits), len(b.digits))
	for i := range n {
		da, db := digitAt(a.digits, i), digitAt(b.digits, i)
		if da != db {
			return int(da) - int(db)
		}
	}
	if a.loose != b.loose {
		return a.loose - b.loose
	}
	if c := strings.Compare(strings.ToLower(a.text), strings.ToLower(b.text)); c != 0 {
		return c
	}
	return strings.Compare(a.text, b.text)
}

func digitAt(d []byte, i int) byte {
	if i < len(d) {
		return d[i]
	}
	return 0
}

func (s *segment) simple() bool { return len(s.parts) == 1 }

func (s *segment) catchAll() *param {
	if s.simple() && s.parts[0].param != nil && s.parts[0].param.catchAll {
		return s.parts[0].param
	}
	return nil
}

// precedenceDigit is RoutePrecedence.ComputeInboundPrecedenceDigit.
func (s *segment) precedenceDigit() byte {
	if !s.simple() {
		return 2
	}
	p := s.parts[0].param
	if p == nil {
		return 1
	}
	d := byte(3)
	if p.catchAll {
		d = 5
	}
	if len(p.constraints) > 0 {
		d--
	}
	return d
}

func (t *Template) finish() {
	for _, s := range t.segments {
		t.digits = append(t.digits, s.precedenceDigit())
		for _, pt := range s.parts {
			if pt.param == nil {
				continue
			}
			t.names = append(t.names, pt.param.name)
			if pt.param.optional || pt.param.hasDefault {
				t.loose++
			}
		}
	}
}
