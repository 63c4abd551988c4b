package settings

import (
	"strings"
	"testing"
)

// FuzzBucketKey checks that setting names round-trip through bucket keys
// and that parseKey and the disabled-setting parser never panic.
func FuzzBucketKey(f *testing.F) {
	f.Add("shop", "Section:Key with space", "shop.v.QQ")
	f.Add("a-1", "AzureWebJobs.Hello.Disabled", "a.seeded")
	f.Add("x", "AzureWebJobs_My_Func_Disabled", "x.c.")
	f.Fuzz(func(t *testing.T, app, name, raw string) {
		parseKey(raw)
		if fn, ok := disabledFunction(name); ok {
			lower := strings.ToLower(name)
			if !strings.HasPrefix(lower, "azurewebjobs") || !strings.HasSuffix(lower, "disabled") || !strings.Contains(name, fn) {
				t.Fatalf("disabledFunction(%q) = %q", name, fn)
			}
		}
		if check(app, AppSetting, name, "") != nil {
			return
		}
		for _, k := range []Kind{AppSetting, ConnectionString} {
			p, ok := parseKey(bucketKey(app, k, name))
			if !ok || p.seeded || p.app != app || p.kind != k || p.name != name {
				t.Fatalf("%v %q: parsed %+v %v", k, name, p, ok)
			}
		}
		if p, ok := parseKey(seededKey(app)); !ok || !p.seeded || p.app != app {
			t.Fatalf("seeded key of %q: %+v %v", app, p, ok)
		}
	})
}
