package route

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		template   string
		names      []string
		precedence string
	}{
		{"", nil, "0"},
		{"/", nil, "0"},
		{"hello", nil, "1"},
		{"/api/hello/", nil, "1.1"},
		{"~/products", nil, "1"},
		{"products/{id}", []string{"id"}, "1.3"},
		{"products/{id?}", []string{"id"}, "1.3"},
		{"products/{id=5}", []string{"id"}, "1.3"},
		{"products/{id:int}", []string{"id"}, "1.2"},
		{"products/{id:int:min(1)}", []string{"id"}, "1.2"},
		{"products/{id:}", []string{"id"}, "1.3"},
		{"files/{*path}", []string{"path"}, "1.5"},
		{"files/{**path}", []string{"path"}, "1.5"},
		{"files/{*path:minlength(2)}", []string{"path"}, "1.4"},
		{"files/{name}.{ext?}", []string{"name", "ext"}, "1.2"},
		{"file-{id}", []string{"id"}, "2"},
		{"{a}-{b}-{c}", []string{"a", "b", "c"}, "2"},
		{`{code:regex(^\d{{3}}$)}`, []string{"code"}, "2"},
		{"{v:regex(a:b)}", []string{"v"}, "2"},
		{"{v:regex(a=b)=x}", []string{"v"}, "2"},
		{"{v:length(2,4)}", []string{"v"}, "2"},
		{"{v:range(-5,+5)}", []string{"v"}, "2"},
		{"{v:INT}", []string{"v"}, "2"},
		{"a{{b}}c", nil, "1"},
		{"{=x}", []string{"=x"}, "3"},
		{"{:x}", []string{":x"}, "3"},
		{"{a}/{b?}", []string{"a", "b"}, "3.3"},
		{"api/{version:alpha}/{*rest}", []string{"version", "rest"}, "1.25"},
	}
	for _, tc := range tests {
		t.Run(tc.template, func(t *testing.T) {
			tpl, err := Parse(tc.template)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := tpl.Names(); !slices.Equal(got, tc.names) {
				t.Errorf("names = %q, want %q", got, tc.names)
			}
			if got := tpl.Precedence(); got != tc.precedence {
				t.Errorf("precedence = %s, want %s", got, tc.precedence)
			}
			if tpl.String() != tc.template {
				t.Errorf("String() = %q", tpl.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		template string
		pos      int
		param    string
		msg      string
	}{
		{"a//b", 2, "", "twice in a row"},
		{"//a", 1, "", "twice in a row"},
		{"~a", 0, "", "'~'"},
		{"a/{id", 2, "", "never closed"},
		{"a/{", 2, "", "never closed"},
		{"a/b}", 3, "", "unbalanced '}'"},
		{"a{", 1, "", "unbalanced '{'"},
		{"a?b", 1, "", "cannot contain '?'"},
		{"{}", 0, "", "invalid parameter name"},
		{"{a/b}", 0, "a/b", "invalid parameter name"},
		{"{*}", 0, "", "invalid parameter name"},
		{"{id}/{ID}", 5, "ID", "more than once"},
		{"{*rest?}", 0, "rest", "cannot be optional"},
		{"{id=5?}", 0, "id", "optional parameter cannot have a default"},
		{"{*rest}/more", 12, "rest", "catch-all parameter must be the last"},
		{"a/{*rest}.txt", 2, "rest", "cannot hold a catch-all"},
		{"{a}{b}", 0, "b", "next to each other"},
		{"{a?}.{b}", 0, "a", "must be the last part"},
		{"{a}-{b?}", 0, "b", "only a period"},
		{"x/{id:nope}", 2, "id", `unknown constraint "nope"`},
		{"{id:int(3)}", 0, "id", "takes no arguments"},
		{"{id:min}", 0, "id", "needs 1 argument"},
		{"{id:min(x)}", 0, "id", "not a 64-bit integer"},
		{"{id:range(5,1)}", 0, "id", "must not exceed"},
		{"{id:length(4,2)}", 0, "id", "minimum <= maximum"},
		{"{id:minlength(-1)}", 0, "id", "must not be negative"},
		{"{id:regex((a)\\1)}", 0, "id", "does not compile"},
		{`{code:regex(^\d{3}$)}`, 15, "", "must be escaped"},
	}
	for _, tc := range tests {
		t.Run(tc.template, func(t *testing.T) {
			_, err := Parse(tc.template)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Template != tc.template || pe.Pos != tc.pos || pe.Param != tc.param {
				t.Errorf("got template %q pos %d param %q, want pos %d param %q", pe.Template, pe.Pos, pe.Param, tc.pos, tc.param)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.template)) {
				t.Errorf("error %q should name the template and say %q", err, tc.msg)
			}
		})
	}
}

func TestParseParamText(t *testing.T) {
	tests := []struct {
		text string
		want paramSpec
	}{
		{"id", paramSpec{name: "id"}},
		{"id?", paramSpec{name: "id", optional: true}},
		{"*rest", paramSpec{name: "rest", catchAll: true}},
		{"**rest", paramSpec{name: "rest", catchAll: true}},
		{"id=7", paramSpec{name: "id", hasDefault: true, def: "7"}},
		{"id=", paramSpec{name: "id", hasDefault: true, def: ""}},
		{"id:int", paramSpec{name: "id", constraints: []string{"int"}}},
		{"id:int:min(1)=3", paramSpec{name: "id", constraints: []string{"int", "min(1)"}, hasDefault: true, def: "3"}},
		{"id:int?", paramSpec{name: "id", optional: true, constraints: []string{"int"}}},
		{"v:regex(a:b)", paramSpec{name: "v", constraints: []string{"regex(a:b)"}}},
		{"v:regex(a:b):int", paramSpec{name: "v", constraints: []string{"regex(a:b)", "int"}}},
		{"v:regex(^(a|b)$)=a", paramSpec{name: "v", constraints: []string{"regex(^(a|b)$)"}, hasDefault: true, def: "a"}},
		{"v:regex(a=b)=x", paramSpec{name: "v", constraints: []string{"regex(a=b)"}, hasDefault: true, def: "x"}},
		{"v:length(1", paramSpec{name: "v", constraints: []string{"length(1"}}},
		{"v=a:int", paramSpec{name: "v", hasDefault: true, def: "a:int"}},
		{"v::int", paramSpec{name: "v", constraints: []string{"int"}}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := parseParamText(tc.text)
			if got.name != tc.want.name || got.catchAll != tc.want.catchAll || got.optional != tc.want.optional ||
				got.hasDefault != tc.want.hasDefault || got.def != tc.want.def || !slices.Equal(got.constraints, tc.want.constraints) {
				t.Errorf("parseParamText(%q) = %+v, want %+v", tc.text, got, tc.want)
			}
		})
	}
}
