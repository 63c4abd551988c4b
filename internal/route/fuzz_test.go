package route

import (
	"errors"
	"strings"
	"testing"
)

var fuzzTemplates = []string{
	"", "/", "hello", "api/{id}", "products/{id?}", "products/{id=5}", "items/{id:int:min(1)}",
	"files/{*path}", "files/{**path=x}", "files/{name}.{ext?}", "file-{id}", "{a}-{b}-{c}",
	`{code:regex(^\d{{3}}$)}`, "{v:regex(a:b):int}", "{v:length(2,4)?}", "a{{b}}c", "{=x}",
	"{a}/{b?}/{c?}", "~/x", "a//b", "{", "}", "{*rest?}", "{a}{b}", "{id:range(5,1)}", "v{major}.{minor}",
}

// FuzzParse checks that any template either parses or fails with a
// *ParseError naming it, and that a parsed template can be matched and
// ordered without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzTemplates {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Template != s || pe.Pos < 0 || pe.Pos > len(s) {
				t.Fatalf("Parse(%q) error %v: not a *ParseError at a position in the template", s, err)
			}
			return
		}
		if tpl.String() != s {
			t.Fatalf("String() = %q", tpl.String())
		}
		again, err := Parse(s)
		if err != nil || Compare(tpl, again) != 0 {
			t.Fatalf("reparse differs: %v", err)
		}
		tpl.Match(strings.ReplaceAll(s, "{", ""))
	})
}

// FuzzMatch checks matching invariants: no panic; a match yields every
// required parameter, only the template's parameters, and the same values
// through a Table.
func FuzzMatch(f *testing.F) {
	paths := []string{"", "hello", "api/42", "products", "files/a/b/c", "files/r.pdf", "file-7", "x-y-z",
		"123", "5", "ab", "a{b}c", "v1.2", "a/b/c", "%41%2F%zz", "a//b", "x/"}
	for i, s := range fuzzTemplates {
		f.Add(s, paths[i%len(paths)])
	}
	f.Fuzz(func(t *testing.T, template, path string) {
		tpl, err := Parse(template)
		if err != nil {
			return
		}
		values, ok := tpl.Match(path)
		var tb Table[int]
		tb.Add(tpl, 1)
		ms := tb.Match(path)
		if ok != (len(ms) == 1) {
			t.Fatalf("Template.Match ok=%v but Table.Match found %d", ok, len(ms))
		}
		if !ok {
			return
		}
		checkValues(t, tpl, values)
	})
}

func checkValues(t *testing.T, tpl *Template, values map[string]string) {
	known := map[string]bool{}
	for _, seg := range tpl.segments {
		for _, pt := range seg.parts {
			p := pt.param
			if p == nil {
				continue
			}
			known[p.name] = true
			if _, ok := values[p.name]; !ok && !p.optional && !p.catchAll {
				t.Fatalf("required parameter %q missing from %v", p.name, values)
			}
		}
	}
	for k := range values {
		if !known[k] {
			t.Fatalf("value for unknown parameter %q", k)
		}
	}
}
