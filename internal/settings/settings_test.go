package settings

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

type env struct {
	t   *testing.T
	ctx context.Context
	dir string
	b   *broker.Broker
	s   *Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dir: t.TempDir()}
	e.startBroker()
	e.s = e.startStore(Options{})
	return e
}

func (e *env) startBroker() {
	b, err := broker.Start(e.ctx, broker.Options{Region: "east", Dir: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	e.b = b
	e.t.Cleanup(b.Shutdown)
}

func (e *env) startStore(opts Options) *Store {
	e.t.Helper()
	opts.Broker = e.b
	s, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	if !s.Ready() {
		e.t.Fatal("not ready after Start")
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// recorder collects subscriber calls.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *recorder) fn(app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[app]++
}

func (r *recorder) count(app string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[app]
}

func TestSeedOnce(t *testing.T) {
	e := newEnv(t)
	values := map[string]string{"FUNCTIONS_WORKER_RUNTIME": "Custom", "Section:Key": "a", "with space": "b", "Empty": ""}
	conns := map[string]string{"Db": "Server=x;Password=secret"}
	seeded, err := e.s.Seed(e.ctx, "shop", values, conns)
	if err != nil || !seeded {
		t.Fatalf("first Seed = %v %v", seeded, err)
	}
	got := e.s.Get("shop")
	if !maps.Equal(got.Values, values) || !maps.Equal(got.ConnectionStrings, conns) {
		t.Fatalf("Get = %+v", got)
	}
	if _, err := e.s.Put(e.ctx, "shop", AppSetting, "Section:Key", "changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Delete(e.ctx, "shop", AppSetting, "with space"); err != nil {
		t.Fatal(err)
	}
	seeded, err = e.s.Seed(e.ctx, "shop", map[string]string{"Section:Key": "file", "New": "x"}, nil)
	if err != nil || seeded {
		t.Fatalf("second Seed = %v %v", seeded, err)
	}
	got = e.s.Get("shop")
	want := map[string]string{"FUNCTIONS_WORKER_RUNTIME": "Custom", "Section:Key": "changed", "Empty": ""}
	if !maps.Equal(got.Values, want) {
		t.Fatalf("after second Seed: %v, want %v", got.Values, want)
	}
	got.Values["FUNCTIONS_WORKER_RUNTIME"] = "mutated"
	if v, _ := e.s.Value("shop", AppSetting, "FUNCTIONS_WORKER_RUNTIME"); v != "Custom" {
		t.Fatal("Get returned the cache's own map")
	}
	if seeded, err := e.s.Seed(e.ctx, "bad.app", nil, nil); err == nil || seeded {
		t.Fatal("Seed accepted a bad app name")
	}
	if seeded, err := e.s.Seed(e.ctx, "blog", map[string]string{"A=B": "x"}, nil); err == nil || seeded || e.s.Seeded("blog") {
		t.Fatal("Seed accepted a name with '='")
	}
}

func TestRestartPersistence(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.Seed(e.ctx, "shop", map[string]string{"A": "1"}, map[string]string{"Db": "conn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Put(e.ctx, "shop", AppSetting, "A", "2"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Shutdown(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Shutdown(e.ctx); err != nil { // safe twice
		t.Fatal(err)
	}
	e.b.Shutdown()
	e.startBroker()
	e.s = e.startStore(Options{})
	if seeded, err := e.s.Seed(e.ctx, "shop", map[string]string{"A": "1"}, nil); err != nil || seeded {
		t.Fatalf("Seed after restart = %v %v", seeded, err)
	}
	got := e.s.Get("shop")
	if got.Values["A"] != "2" || got.ConnectionStrings["Db"] != "conn" {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestSubscribeSeesChanges(t *testing.T) {
	e := newEnv(t)
	var local, remote recorder
	cancel := e.s.Subscribe(local.fn)
	other := e.startStore(Options{}) // another process on the same bucket
	other.Subscribe(remote.fn)

	if _, err := e.s.Put(e.ctx, "shop", AppSetting, "A", "1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the local subscriber", func() bool { return local.count("shop") >= 1 })
	eventually(t, "the other store's subscriber", func() bool { return remote.count("shop") >= 1 })
	if v, _ := other.Value("shop", AppSetting, "A"); v != "1" {
		t.Fatalf("the other store's cache has %q when its subscriber runs", v)
	}
	before := local.count("shop")
	if _, err := e.s.Put(e.ctx, "shop", AppSetting, "A", "1"); err != nil { // same value
		t.Fatal(err)
	}
	if _, err := e.s.Put(e.ctx, "shop", ConnectionString, "Db", "x"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a call for the connection string", func() bool { return local.count("shop") > before })
	if _, err := other.Delete(e.ctx, "shop", ConnectionString, "Db"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delete to reach the first store", func() bool {
		_, ok := e.s.Value("shop", ConnectionString, "Db")
		return !ok
	})
	n := local.count("shop")
	cancel()
	if _, err := e.s.Put(e.ctx, "shop", AppSetting, "B", "2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other subscriber to see B", func() bool { v, _ := other.Value("shop", AppSetting, "B"); return v == "2" })
	if local.count("shop") != n {
		t.Fatal("a cancelled subscriber was called")
	}
	if local.count("blog") != 0 {
		t.Fatal("called for an app that did not change")
	}
}

func TestSubscriberPanicDoesNotStopOthers(t *testing.T) {
	e := newEnv(t)
	var r recorder
	e.s.Subscribe(func(string) { panic("boom") })
	e.s.Subscribe(r.fn)
	for _, v := range []string{"1", "2"} {
		if _, err := e.s.Put(e.ctx, "shop", AppSetting, "A", v); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the second subscriber", func() bool { return r.count("shop") >= 1 })
}

func TestDisabled(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, value, fn string
		want            bool
	}{
		{"AzureWebJobs.Hello.Disabled", "true", "Hello", true},
		{"AzureWebJobs.Hello.Disabled", "TRUE", "hello", true},
		{"AzureWebJobs_Hello_Disabled", "1", "Hello", true},
		{"azurewebjobs.hello.disabled", "True", "Hello", true},
		{"AzureWebJobs.Hello.Disabled", "false", "Hello", false},
		{"AzureWebJobs.Hello.Disabled", "0", "Hello", false},
		{"AzureWebJobs.Hello.Disabled", "yes", "Hello", false},
		{"AzureWebJobs.Hello.Disabled", " true", "Hello", false},
		{"AzureWebJobs.Hello_Disabled", "true", "Hello", false},
		{"AzureWebJobs.Hello.Disabled", "true", "Other", false},
		{"AzureWebJobs.My.Func.Disabled", "true", "My.Func", true},
	}
	for i, tc := range tests {
		app := "app" + string(rune('a'+i))
		if _, err := e.s.Put(e.ctx, app, AppSetting, tc.name, tc.value); err != nil {
			t.Fatal(err)
		}
		if got := e.s.Disabled(app, tc.fn); got != tc.want {
			t.Errorf("%s=%q: Disabled(%q) = %v, want %v", tc.name, tc.value, tc.fn, got, tc.want)
		}
	}
	if _, err := e.s.Delete(e.ctx, "appa", AppSetting, "AzureWebJobs.Hello.Disabled"); err != nil {
		t.Fatal(err)
	}
	if e.s.Disabled("appa", "Hello") {
		t.Error("still disabled after the setting was deleted")
	}
}

func TestDeleteAppAndKeys(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.Seed(e.ctx, "shop", map[string]string{"A": "1"}, map[string]string{"C": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteApp(e.ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if got := e.s.Get("shop"); len(got.Values)+len(got.ConnectionStrings) != 0 || e.s.Seeded("shop") {
		t.Fatalf("after DeleteApp: %+v seeded=%v", got, e.s.Seeded("shop"))
	}
	if seeded, err := e.s.Seed(e.ctx, "shop", map[string]string{"A": "fresh"}, nil); err != nil || !seeded {
		t.Fatalf("Seed after DeleteApp = %v %v", seeded, err)
	}
	for _, k := range []string{"x", "shop", "shop.v", "shop.q.QQ", "shop.v.!!", "shop.seeded.x", ".seeded"} {
		if p, ok := parseKey(k); ok && k != "shop.seeded" {
			t.Errorf("parseKey(%q) = %+v", k, p)
		}
	}
}

func TestNewNeedsStorage(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without storage accepted")
	}
}
