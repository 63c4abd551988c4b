package configsync

import (
	"reflect"
	"testing"

	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// TestLayoutMatchesTheStores writes through internal/settings and
// internal/keys (seed, put, delete, default keys with their markers) and
// checks that ReadSnapshot decodes exactly what those stores hold: a
// layout change in either package fails here.
func TestLayoutMatchesTheStores(t *testing.T) {
	b := startBroker(t, "east", false)
	n := startNode(t, b, nil)
	ctx := testCtx(t)
	if _, err := n.settings.Seed(ctx, "shop", map[string]string{"A": "1", "name with spaces: and colons": "v"}, map[string]string{"Db": "conn"}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, n, "shop", settings.AppSetting, "B", "2")
	mustPut(t, n, "shop", settings.AppSetting, "gone", "x")
	if _, err := n.settings.Delete(ctx, "shop", settings.AppSetting, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := n.keys.EnsureDefaults(ctx, "shop", []string{"hello", "fn.with.dots"}); err != nil {
		t.Fatal(err)
	}
	mustSetKey(t, n, "shop", keys.SystemScope(), "ext", "sys-value")
	mustSetKey(t, n, "shop", keys.HostScope(), "HA-copy", "copied-value")
	if err := n.sync.markOwned(ctx, "shop", Ref{Class: ClassHostKey, Name: "HA-copy"}, "west"); err != nil {
		t.Fatal(err)
	}

	snap, err := ReadSnapshot(ctx, b.JetStream(), "east")
	if err != nil {
		t.Fatal(err)
	}
	st := n.settings.Get("shop")
	want := &AppConfig{
		Values: st.Values, ConnectionStrings: st.ConnectionStrings,
		HostKeys:   keyMap(n.keys.List("shop", keys.HostScope())),
		SystemKeys: keyMap(n.keys.List("shop", keys.SystemScope())),
		FunctionKeys: map[string]map[string]string{
			"hello":        keyMap(n.keys.List("shop", keys.FunctionScope("hello"))),
			"fn.with.dots": keyMap(n.keys.List("shop", keys.FunctionScope("fn.with.dots"))),
		},
		Replicas: []Ref{{Class: ClassHostKey, Name: "HA-copy"}},
	}
	if len(want.Values) != 3 || len(want.HostKeys) != 2 || len(want.FunctionKeys["hello"]) != 1 {
		t.Fatalf("the stores hold %+v", want)
	}
	if got := snap.Apps["shop"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot:\n got %+v\nwant %+v", got, want)
	}
}

func FuzzDecodeBucketKeys(f *testing.F) {
	for _, s := range []string{"shop.v.QQ", "shop.c.RGI", "shop.seeded", "shop.h.ZGVmYXVsdA", "shop.f.aGVsbG8.ZGVmYXVsdA",
		"shop.init.f.aGVsbG8", "owned.shop.s.ZXh0", "owned.shop.f.aGVsbG8.SEEtZA", "config.exclude", "..", "owned..h.", "a.f.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		for _, decode := range []func(string) (item, bool){decodeSettingsKey, decodeKeysKey} {
			if it, ok := decode(key); ok && (it.app == "" || it.ref.Name == "") {
				t.Fatalf("%q decoded to %+v", key, it)
			}
		}
		it, ok := decodeOwnedKey(key)
		if !ok {
			return
		}
		again, ok := decodeOwnedKey(ownedKey(it.app, it.ref))
		if !ok || again != it {
			t.Fatalf("%q: %+v does not survive a round trip (%+v)", key, it, again)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"source":{"region":"east","apps":{"shop":{"values":{"A":"1"},"hostKeys":{"default":"k"}}}},"exclude":["WEBSITE_*"],"app":"shop"}`,
		`{"source":{"region":"east","apps":{}}}`, `{"source":null}`, `{}`, `[]`, `{"source":{"region":"bad region"}}`,
		`{"source":{"region":"east","apps":{"bad_app":{}}}}`, `{"source":{"region":"east"},"exclude":["["]}`, `{"x":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			return
		}
		if req.Source == nil || req.check() != nil {
			t.Fatalf("accepted an invalid request %s", body)
		}
	})
}
