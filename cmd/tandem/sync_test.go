package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/role"
	"github.com/tandemhq/tandem/internal/testbin"
)

const syncTestKey = "sync-test-master-key-0123456789abcdefghijklmnopqrstuv"

// syncRegion is an in-process region with app "shop" (function "hello",
// authLevel function, real echo handler).
type syncRegion struct {
	name string
	r    *region.Region
}

func startSyncRegion(t *testing.T, name, app string, mod func(*region.Options)) *syncRegion {
	t.Helper()
	opts := region.Options{Name: name, HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), MasterKeyEnv: syncTestKey,
		Apps: []region.AppSpec{{Dir: app}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&opts)
	}
	r, err := region.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return &syncRegion{name: name, r: r}
}

// secondaryOf makes s a secondary of primary, as the witness would.
func (s *syncRegion) secondaryOf(t *testing.T, primary string) {
	t.Helper()
	if _, err := s.r.Role().Apply(context.Background(), role.Request{Role: role.Secondary, Epoch: 1, Primary: primary}); err != nil {
		t.Fatal(err)
	}
}

// admin calls the region's admin API with the master key.
func (s *syncRegion) admin(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.r.URL()+path, strings.NewReader(body))
	req.Header.Set("x-functions-key", syncTestKey)
	return doHTTP(t, req)
}

// call invokes function hello presenting key.
func (s *syncRegion) call(t *testing.T, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.r.URL()+"/api/hello", nil)
	req.Header.Set("x-functions-key", key)
	code, _ := doHTTP(t, req)
	return code
}

func doHTTP(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *syncRegion) putSetting(t *testing.T, name, value string) {
	t.Helper()
	if code, body := s.admin(t, http.MethodPut, "/admin/apps/shop/settings/"+name, `{"value":"`+value+`"}`); code/100 != 2 {
		t.Fatalf("%s: put setting %s: %d %s", s.name, name, code, body)
	}
}

func (s *syncRegion) setKey(t *testing.T, path, name, value string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "value": value})
	if code, out := s.admin(t, http.MethodPut, "/admin/apps/shop/"+path+"/"+name, string(body)); code/100 != 2 {
		t.Fatalf("%s: set key %s/%s: %d %s", s.name, path, name, code, out)
	}
}

func (s *syncRegion) hasSetting(t *testing.T, name, value string) bool {
	t.Helper()
	code, body := s.admin(t, http.MethodGet, "/admin/apps/shop/settings/"+name, "")
	return code == http.StatusOK && strings.Contains(body, `"value":"`+value+`"`)
}

// syncTestApp writes app folder "shop": function hello needs a function key.
func syncTestApp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	files := map[string]string{
		"host.json":           `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"` + testbin.Build(t, "testdata/handlers/echo") + `"}}}`,
		"hello/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"function","methods":["get"]},{"type":"http","direction":"out","name":"res"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"FUNCTIONS_WORKER_RUNTIME":"Custom"}}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeSyncTopology(t *testing.T, regions ...*syncRegion) string {
	t.Helper()
	t.Setenv("TANDEM_TEST_SYNC_KEY", syncTestKey)
	var b strings.Builder
	b.WriteString("regions:\n")
	for i, s := range regions {
		fmt.Fprintf(&b, "  - name: %s\n    proxyURL: %s\n    priority: %d\n    adminKeyEnv: TANDEM_TEST_SYNC_KEY\n", s.name, s.r.URL(), i+1)
	}
	b.WriteString("replication: {exclude: [\"WEBSITE_*\", \"LOCAL_*\"]}\n")
	b.WriteString("traffic: {listen: {http: 127.0.0.1:0, admin: 127.0.0.1:0}, adminKeyEnv: TANDEM_TEST_SYNC_KEY, profile: {name: app.tandem.local}}\n")
	path := filepath.Join(t.TempDir(), "topology.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tandemSync runs the binary's entry point and returns exit code and output.
func tandemSync(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	syncStdout = &out
	t.Cleanup(func() { syncStdout = os.Stdout })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args)
	return code, out.String()
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	norm := strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " \\n ")), " ")
	for _, w := range want {
		if !strings.Contains(norm, strings.Join(strings.Fields(w), " ")) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestSyncPlanApplyAudit drives tandem sync against two real regions, not
// linked (the CLI alone moves the configuration through the admin APIs):
// east is primary, west a standby secondary (as with tandem region --standby).
func TestSyncPlanApplyAudit(t *testing.T) {
	app := syncTestApp(t)
	east := startSyncRegion(t, "east", app, nil)
	west := startSyncRegion(t, "west", app, func(o *region.Options) { o.Role = role.State{Role: role.Secondary} })
	const eastKey = "east-function-key-for-hello-0123456789"
	east.putSetting(t, "A", "1")
	east.putSetting(t, "WEBSITE_SITE_NAME", "east")
	east.setKey(t, "functions/hello/keys", "default", eastKey)
	west.putSetting(t, "ONLY_WEST", "x")
	west.putSetting(t, "WEBSITE_SITE_NAME", "west")
	top := writeSyncTopology(t, east, west)
	if west.call(t, eastKey) != http.StatusUnauthorized {
		t.Fatal("east's key opened west before any sync")
	}

	code, out := tandemSync(t, "sync", "plan", "--topology", top)
	if code != 0 {
		t.Fatalf("plan exit %d:\n%s", code, out)
	}
	t.Logf("tandem sync plan:\n%s", out)
	wantLines(t, out, "source: east (1 apps) exclude: WEBSITE_* LOCAL_*",
		"west shop add setting A ***", "west shop excluded setting WEBSITE_SITE_NAME",
		"west shop orphan setting ONLY_WEST", "west shop add functionkey hello/HA-default ***",
		"west shop add hostkey HA-default ***", "west: 3 to apply (3 add, 0 modify), 1 orphan, 1 excluded")
	if strings.Contains(out, eastKey) || west.hasSetting(t, "A", "1") {
		t.Fatalf("plan printed a value or wrote:\n%s", out)
	}

	code, out = tandemSync(t, "sync", "apply", "--topology", top, "--app", "shop")
	if code != 0 {
		t.Fatalf("apply exit %d:\n%s", code, out)
	}
	wantLines(t, out, "west shop add setting A *** applied", "west: 3 applied")
	if !west.hasSetting(t, "A", "1") || !west.hasSetting(t, "WEBSITE_SITE_NAME", "west") || !west.hasSetting(t, "ONLY_WEST", "x") {
		t.Fatal("west's settings after apply")
	}
	if got := west.call(t, eastKey); got != http.StatusOK {
		t.Fatalf("east's function key in west: HTTP %d, want 200", got)
	}
	if got := west.call(t, "not-a-key"); got != http.StatusUnauthorized {
		t.Fatalf("a wrong key in west: HTTP %d", got)
	}

	code, out = tandemSync(t, "sync", "plan", "--topology", top, "--audit")
	if code != 0 {
		t.Fatalf("plan --audit exit %d:\n%s", code, out)
	}
	t.Logf("tandem sync plan --audit:\n%s", out)
	wantLines(t, out, "west: 0 to apply", "west shop add setting A east api", "west shop add functionkey hello/HA-default east api")
	code, out = tandemSync(t, "sync", "audit", "--topology", top, "--region", "east")
	if code != 0 || strings.Contains(out, "shop") {
		t.Fatalf("east's audit (nothing applied there): exit %d\n%s", code, out)
	}
}

func TestSyncUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"sync"}, 2},
		{[]string{"sync", "bogus", "--topology", "t.yaml"}, 2},
		{[]string{"sync", "plan"}, 2},
		{[]string{"sync", "apply", "--topology", "t.yaml", "--audit"}, 2},
		{[]string{"sync", "plan", "--topology", "t.yaml", "--app", "bad_name"}, 2},
		{[]string{"sync", "audit", "--topology", "t.yaml", "--limit", "0"}, 2},
		{[]string{"sync", "plan", "--help"}, 0},
		{[]string{"sync", "plan", "--topology", filepath.Join(t.TempDir(), "missing.yaml")}, 1},
	}
	for _, tc := range cases {
		if code, out := tandemSync(t, tc.args...); code != tc.code {
			t.Errorf("tandem %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.code, out)
		}
	}
}

// TestSyncContinuousBetweenRegions: two real regions linked by a leafnode;
// once west is a secondary of east, a key and a setting changed in east are
// in force in west within a second, without the CLI.
func TestSyncContinuousBetweenRegions(t *testing.T) {
	app := syncTestApp(t)
	east := startSyncRegion(t, "east", app, func(o *region.Options) { o.LeafListen = "127.0.0.1:0" })
	leaf, err := replicate.LeafURL(east.r.Broker())
	if err != nil {
		t.Fatal(err)
	}
	west := startSyncRegion(t, "west", app, func(o *region.Options) { o.LeafRemotes = []string{leaf} })
	west.secondaryOf(t, "east")
	syncWaitFor(t, 15*time.Second, "west follows east", func() bool {
		st := west.r.ConfigSync().Status()
		return st.Watching && st.Following == "east"
	})
	const key = "east-rotated-function-key-0123456789"
	start := time.Now()
	east.setKey(t, "functions/hello/keys", "default", key)
	east.putSetting(t, "FEATURE", "on")
	syncWaitFor(t, time.Second, "east's new key accepted by west", func() bool { return west.call(t, key) == http.StatusOK })
	syncWaitFor(t, time.Second, "east's setting in west", func() bool { return west.hasSetting(t, "FEATURE", "on") })
	t.Logf("key and setting in force in west %v after the change in east", time.Since(start))
}

func syncWaitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		<-tick.C
	}
}
