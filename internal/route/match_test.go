package route

import (
	"maps"
	"testing"
)

// p builds an expected parameter map from name/value pairs.
func p(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestMatch(t *testing.T) {
	tests := []struct {
		template, path string
		want           map[string]string // nil: no match
	}{
		// literals, case-insensitive, slashes
		{"hello", "hello", p()},
		{"hello", "/HeLLo", p()},
		{"hello", "hello/", p()},
		{"hello", "hello//", nil},
		{"hello", "hell", nil},
		{"hello", "hello/x", nil},
		{"hello", "", nil},
		{"", "", p()},
		{"", "/", p()},
		{"", "x", nil},
		{"a/b", "a//b", nil},
		{"caf%C3%A9", "caf%C3%A9", nil}, // a template literal is not decoded
		{"café", "CAF%C3%89", p()},
		// parameters and decoding
		{"products/{id}", "products/42", p("id", "42")},
		{"products/{id}", "products", nil},
		{"products/{id}", "products/a%20b", p("id", "a b")},
		{"products/{id}", "products/a%2Fb", p("id", "a%2Fb")},
		{"products/{id}", "products/a%zzb", p("id", "a%zzb")},
		{"products/{id}", "products/%FF", p("id", "%FF")},
		{"products/{id}", "products/1/2", nil},
		// optional and default
		{"products/{id?}", "products", p()},
		{"products/{id?}", "products/7", p("id", "7")},
		{"products/{id=5}", "products", p("id", "5")},
		{"products/{id=5}", "products/9", p("id", "9")},
		{"{a?}/b", "b", nil},
		{"{a?}/b", "x/b", p("a", "x")},
		{"{a}/{b?}/{c?}", "x", p("a", "x")},
		{"{a}/{b?}/{c?}", "x/y/z", p("a", "x", "b", "y", "c", "z")},
		{"{a}/{b=2}/{c?}", "x", p("a", "x", "b", "2")},
		// constraints
		{"items/{id:int}", "items/12", p("id", "12")},
		{"items/{id:int}", "items/-12", p("id", "-12")},
		{"items/{id:int}", "items/x", nil},
		{"items/{id:int}", "items/2147483648", nil},
		{"items/{id:long}", "items/2147483648", p("id", "2147483648")},
		{"items/{id:int:min(1)}", "items/0", nil},
		{"items/{id:int:min(1)}", "items/1", p("id", "1")},
		{"items/{id:int?}", "items", p()},
		{"items/{id:int?}", "items/x", nil},
		{"items/{id:int=x}", "items", nil}, // the default must satisfy the constraint
		{"items/{id:int=3}", "items", p("id", "3")},
		{"n/{v:alpha}", "n/Abc", p("v", "Abc")},
		{"n/{v:alpha}", "n/ab1", nil},
		{"n/{v:minlength(3)}", "n/ab", nil},
		{"n/{v:maxlength(3)}", "n/abcd", nil},
		{"n/{v:length(2)}", "n/%F0%9F%98%80", p("v", "😀")}, // UTF-16 length 2
		{"n/{v:length(2,3)}", "n/abc", p("v", "abc")},
		{"n/{v:range(1,10)}", "n/11", nil},
		{"n/{v:max(10)}", "n/10", p("v", "10")},
		{`n/{v:regex(^\d{{3}}$)}`, "n/123", p("v", "123")},
		{`n/{v:regex(^\d{{3}}$)}`, "n/1234", nil},
		{"n/{v:regex(ab)}", "n/xABy", p("v", "xABy")}, // unanchored, ignore case
		{"n/{v:bool}", "n/TRUE", p("v", "TRUE")},
		{"n/{v:guid}", "n/0f8fad5b-d9cb-469f-a165-70867728950e", p("v", "0f8fad5b-d9cb-469f-a165-70867728950e")},
		{"n/{v:datetime}", "n/2024-02-30", nil},
		{"n/{v:required}", "n/x", p("v", "x")},
		// catch-all
		{"files/{*path}", "files/a/b/c.txt", p("path", "a/b/c.txt")},
		{"files/{*path}", "files/a/b/", p("path", "a/b/")},
		{"files/{*path}", "files/a%2Fb/c%20d", p("path", "a%2Fb/c d")},
		{"files/{*path}", "files", p()},
		{"files/{*path=index.html}", "files", p("path", "index.html")},
		{"files/{**path}", "files/x//y", p("path", "x//y")},
		{"files/{*path:minlength(5)}", "files/abc", nil},
		{"{*all}", "", p()},
		{"{*all}", "//x", nil},
		// complex segments
		{"files/{name}.{ext?}", "files/report.pdf", p("name", "report", "ext", "pdf")},
		{"files/{name}.{ext?}", "files/report", p("name", "report")},
		{"files/{name}.{ext?}", "files/report.", nil},
		{"files/{name}.{ext?}", "files/a.b.c", p("name", "a.b", "ext", "c")},
		{"file-{id}", "file-12", p("id", "12")},
		{"file-{id}", "FILE-12", p("id", "12")},
		{"file-{id}", "file-", nil},
		{"file-{id}", "xfile-12", nil},
		{"{id}-file", "12-file", p("id", "12")},
		{"{id}-file", "12-filex", nil},
		{"{a}-{b}", "x-y-z", p("a", "x-y", "b", "z")},
		{"{a}.{b}", "a.b", p("a", "a", "b", "b")},
		{"{a:int}.{b}", "x.y", nil},
		{"v{major}.{minor}", "v1.2", p("major", "1", "minor", "2")},
		{"v{major}.{minor}", "v1.2/extra", nil},
	}
	for _, tc := range tests {
		t.Run(tc.template+"|"+tc.path, func(t *testing.T) {
			tpl, err := Parse(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tpl.Match(tc.path)
			if ok != (tc.want != nil) {
				t.Fatalf("Match(%q) ok = %v (values %v), want %v", tc.path, ok, got, tc.want != nil)
			}
			if ok && !maps.Equal(got, tc.want) {
				t.Errorf("Match(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}
