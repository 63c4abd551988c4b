package keys

import "testing"

// FuzzBucketKey checks that bucket keys round-trip for any key and function
// name, and that parseKey never panics on arbitrary keys.
func FuzzBucketKey(f *testing.F) {
	f.Add("shop", "Hello", "default", "shop.h.ZGVmYXVsdA")
	f.Add("a-1", "fn with space", "name:with.dots/and=", "a.init.f.Zm4")
	f.Add("x", "", "_master", "x.f..")
	f.Fuzz(func(t *testing.T, app, fn, name, raw string) {
		parseKey(raw)
		if checkTarget(app, FunctionScope(fn), name) != nil {
			return
		}
		for _, sc := range []Scope{HostScope(), SystemScope(), FunctionScope(fn)} {
			p, ok := parseKey(kvKey(app, sc, name))
			if !ok || p.marker || p.app != app || p.scope != sc.id() || p.name != name {
				t.Fatalf("%v %q: parsed %+v %v", sc, name, p, ok)
			}
			if sc.Kind == HostSystemKeys {
				continue // defaults are never made for system keys
			}
			if m, ok := parseKey(markerKey(app, sc)); !ok || !m.marker || m.app != app {
				t.Fatalf("marker of %v: %+v %v", sc, m, ok)
			}
		}
	})
}
