package region

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAdminCallsForUnknownAppsCreateNothing: every per-app admin call for
// an app the region does not serve answers 404 and writes nothing (a GET
// of /admin/apps/ghost/storage used to create an account).
func TestAdminCallsForUnknownAppsCreateNothing(t *testing.T) {
	tr := startRegion(t, nil, testApp{name: "shop", functions: map[string]string{"hello": httpFn("anonymous", "")}})
	calls := []struct{ method, path, body string }{
		{"GET", "/admin/apps/ghost/storage", ""},
		{"GET", "/admin/apps/ghost/tables", ""},
		{"GET", "/admin/apps/ghost/queues", ""},
		{"POST", "/admin/apps/ghost/queues/jobs/messages", `{"message":"x"}`},
		{"GET", "/admin/apps/ghost/queues/jobs", ""},
		{"GET", "/admin/apps/ghost/settings", ""},
		{"PUT", "/admin/apps/ghost/settings/A", `{"value":"x"}`},
		{"GET", "/admin/apps/ghost/host/functionkeys", ""},
		{"POST", "/admin/apps/ghost/host/functionkeys/ci", ""},
		{"PUT", "/admin/apps/ghost/functions/f/keys/k", `{"name":"k","value":"0123456789abcdefghij"}`},
	}
	for _, c := range calls {
		if r := tr.do(c.method, c.path, tr.master, c.body); r.code != 404 || !strings.Contains(string(r.body), "ghost") {
			t.Errorf("%s %s: %d %s, want 404 naming the app", c.method, c.path, r.code, r.body)
		}
	}
	if r := tr.admin("GET", "/admin/apps/shop/storage", ""); r.code != 200 {
		t.Fatalf("a served app's storage: %d %s", r.code, r.body)
	}
	if r := tr.admin("GET", "/admin/apps/ghost/package", ""); r.code != 404 {
		t.Fatalf("package of an app never deployed: %d %s", r.code, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := tr.Broker().JetStream()
	for name := range js.StreamNames(ctx).Name() {
		if strings.Contains(strings.ToLower(name), "ghost") {
			t.Errorf("stream %s created", name)
		}
		kvName, ok := strings.CutPrefix(name, "KV_")
		if !ok {
			continue
		}
		kv, err := js.KeyValue(ctx, kvName)
		if err != nil {
			continue // a mirror or object store
		}
		keys, _ := kv.ListKeys(ctx)
		for k := range keys.Keys() {
			if strings.Contains(strings.ToLower(k), "ghost") {
				t.Errorf("bucket %s: key %s created", kvName, k)
			}
		}
	}
}
