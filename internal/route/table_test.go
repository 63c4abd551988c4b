package route

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
)

func mustParse(t testing.TB, s string) *Template {
	t.Helper()
	tpl, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestTablePrecedence(t *testing.T) {
	tests := []struct {
		name      string
		templates []string // added in this order
		path      string
		want      []string // matching templates, best first
	}{
		{"literal beats parameter", []string{"api/{id}", "api/ping"}, "api/ping", []string{"api/ping", "api/{id}"}},
		{"literal case-insensitive", []string{"api/{id}", "api/ping"}, "API/PING", []string{"api/ping", "api/{id}"}},
		{"constrained beats plain", []string{"u/{name}", "u/{id:int}"}, "u/5", []string{"u/{id:int}", "u/{name}"}},
		{"constraint fails", []string{"u/{name}", "u/{id:int}"}, "u/bob", []string{"u/{name}"}},
		{"parameter beats catch-all", []string{"f/{*rest}", "f/{x}"}, "f/a", []string{"f/{x}", "f/{*rest}"}},
		{"constrained catch-all beats catch-all", []string{"f/{*a}", "f/{*b:minlength(1)}"}, "f/q", []string{"f/{*b:minlength(1)}", "f/{*a}"}},
		{"complex beats parameter", []string{"f/{x}", "f/{n}.{e}"}, "f/a.b", []string{"f/{n}.{e}", "f/{x}"}},
		{"literal beats complex", []string{"f/{n}.{e}", "f/a.b"}, "f/a.b", []string{"f/a.b", "f/{n}.{e}"}},
		{"required beats optional", []string{"f/{x?}", "f/{y}"}, "f/a", []string{"f/{y}", "f/{x?}"}},
		{"default counts as optional", []string{"f/{x=1}", "f/{y}"}, "f/a", []string{"f/{y}", "f/{x=1}"}},
		{"optional beats catch-all", []string{"f/{*r}", "f/{x?}"}, "f", []string{"f/{x?}", "f/{*r}"}},
		{"shorter template first when it ends", []string{"f/{x?}", "f"}, "f", []string{"f", "f/{x?}"}},
		{"first segment decides", []string{"{a}/x", "a/{b}"}, "a/x", []string{"a/{b}", "{a}/x"}},
		{"earlier segment outweighs later", []string{"a/{b}/c", "a/b/{c}"}, "a/b/c", []string{"a/b/{c}", "a/{b}/c"}},
		{"catch-all last", []string{"{*all}", "{a}/{b}", "x/{*r}"}, "x/y", []string{"x/{*r}", "{a}/{b}", "{*all}"}},
		{"ties by text", []string{"{b}", "{A}"}, "z", []string{"{A}", "{b}"}},
		{"no match", []string{"a", "b/{x}"}, "c", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tb Table[string]
			for _, s := range tc.templates {
				tb.Add(mustParse(t, s), s)
			}
			var got []string
			for _, m := range tb.Match(tc.path) {
				if m.Template.String() != m.Value {
					t.Errorf("value %q carried with template %q", m.Value, m.Template)
				}
				got = append(got, m.Value)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestTableOrderIndependentOfInsertion(t *testing.T) {
	templates := []string{"api/{*rest}", "api/{id}", "api/{id:minlength(1)}", "api/ping", "api/{id?}", "{a}/{b}", "api/{n}.{e}"}
	want := []string{"api/ping", "api/{id:minlength(1)}", "api/{n}.{e}", "api/{id}", "api/{id?}", "api/{*rest}", "{a}/{b}"} // equal precedence 1.2: by text
	for shift := range templates {
		var tb Table[string]
		for i := range templates {
			s := templates[(i+shift)%len(templates)]
			tb.Add(mustParse(t, s), s)
		}
		var got []string
		for _, m := range tb.Match("api/1.2") {
			got = append(got, m.Value)
		}
		wantHere := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "api/ping" })
		if !slices.Equal(got, wantHere) {
			t.Errorf("insertion shift %d: got %q, want %q", shift, got, wantHere)
		}
	}
}

func TestTableParamsAndDuplicates(t *testing.T) {
	var tb Table[int]
	tb.Add(mustParse(t, "orders/{id:int}"), 1)
	tb.Add(mustParse(t, "orders/{id:int}"), 2) // same route for another method
	ms := tb.Match("orders/42")
	if len(ms) != 2 || ms[0].Value != 1 || ms[1].Value != 2 {
		t.Fatalf("matches = %+v, want values 1 then 2", ms)
	}
	if !maps.Equal(ms[0].Params, map[string]string{"id": "42"}) {
		t.Errorf("params = %v", ms[0].Params)
	}
	if tb.Len() != 2 {
		t.Errorf("Len = %d", tb.Len())
	}
}

func TestTableConcurrentUse(t *testing.T) {
	var tb Table[int]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				tb.Add(mustParse(t, fmt.Sprintf("r%d/{x%d}", i, j)), j)
				_ = tb.Match(fmt.Sprintf("r%d/v", i))
			}
		})
	}
	wg.Wait()
	if tb.Len() != 400 || len(tb.Match("r3/v")) != 50 {
		t.Fatalf("Len %d, matches %d", tb.Len(), len(tb.Match("r3/v")))
	}
}

func BenchmarkTableMatch(b *testing.B) {
	var tb Table[int]
	for i := range 50 {
		tb.Add(mustParse(b, fmt.Sprintf("fn%d/{id:int}/items/{*rest}", i)), i)
		tb.Add(mustParse(b, fmt.Sprintf("fn%d", i)), i)
	}
	path := "fn25/17/items/a/b"
	b.ReportAllocs()
	for b.Loop() {
		if len(tb.Match(path)) != 1 {
			b.Fatal("no match")
		}
	}
}
