package keys

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

const testMaster = "master-key-for-tests-0123456789"

type env struct {
	t      *testing.T
	ctx    context.Context
	b      *broker.Broker
	s      *Store
	dir    string
	apps   map[string][]string
	master string // master key file
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dir: t.TempDir(), apps: map[string][]string{"shop": {"Hello", "Orders"}}}
	e.startBroker()
	e.s = e.startStore()
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

func (e *env) startStore() *Store {
	e.t.Helper()
	s, err := New(Options{Broker: e.b, Master: testMaster, MasterPath: e.master, Apps: func() map[string][]string { return e.apps }})
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

func (e *env) set(app string, sc Scope, name, value string) string {
	e.t.Helper()
	v, _, err := e.s.Set(e.ctx, app, sc, name, value)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// eventually polls cond until it holds or the deadline passes.
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

func TestAuthorizeLevels(t *testing.T) {
	e := newEnv(t)
	e.apps["blog"] = []string{"Hello"}
	sys := e.set("shop", SystemScope(), "durabletask_extension", "")
	host := e.set("shop", HostScope(), "ci", "")
	own := e.set("shop", FunctionScope("Hello"), "partner", "")
	other := e.set("shop", FunctionScope("Orders"), "default", "")
	blog := e.set("blog", HostScope(), "default", "")
	tests := []struct {
		name, app, fn, key string
		want               Level
		keyName            string
	}{
		{"master", "shop", "Hello", testMaster, Admin, MasterName},
		{"master for any app", "nowhere", "X", testMaster, Admin, MasterName},
		{"system key", "shop", "Hello", sys, System, "durabletask_extension"},
		{"host function key", "shop", "Hello", host, Function, "ci"},
		{"host function key, no function", "shop", "", host, Function, "ci"},
		{"own function key", "shop", "Hello", own, Function, "partner"},
		{"another function's key", "shop", "Hello", other, Anonymous, ""},
		{"another app's key", "shop", "Hello", blog, Anonymous, ""},
		{"wrong key", "shop", "Hello", host + "x", Anonymous, ""},
		{"prefix of a key", "shop", "Hello", host[:20], Anonymous, ""},
		{"no key", "shop", "Hello", "", Anonymous, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, name := e.s.Identify(tc.app, tc.fn, tc.key)
			if got != tc.want || name != tc.keyName {
				t.Errorf("Identify = %v %q, want %v %q", got, name, tc.want, tc.keyName)
			}
			if l := e.s.Authorize(tc.app, tc.fn, tc.key); l != tc.want {
				t.Errorf("Authorize = %v", l)
			}
		})
	}
}

func TestLevelSatisfies(t *testing.T) {
	all := []Level{Anonymous, User, Function, System, Admin}
	want := map[[2]Level]bool{} // [granted, required] -> ok
	for _, g := range all {
		want[[2]Level{g, Anonymous}] = true
		want[[2]Level{g, g}] = true
		for _, r := range all {
			if g == Admin {
				want[[2]Level{g, r}] = true
			}
		}
	}
	for _, g := range all {
		for _, r := range all {
			if got := g.Satisfies(r); got != want[[2]Level{g, r}] {
				t.Errorf("%v.Satisfies(%v) = %v", g, r, got)
			}
		}
	}
	for in, want := range map[string]Level{"": Function, "anonymous": Anonymous, "Function": Function, "SYSTEM": System, "admin": Admin, "user": User} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("root"); err == nil {
		t.Error("ParseLevel accepted root")
	}
}

func TestPresented(t *testing.T) {
	tests := []struct {
		url    string
		header []string
		want   string
	}{
		{"/api/x?code=q", nil, "q"},
		{"/api/x?code=q", []string{"h"}, "h"},
		{"/api/x?code=q", []string{""}, ""}, // a present header wins even empty
		{"/api/x?code=a%3D%3D", nil, "a=="},
		{"/api/x", nil, ""},
		{"/api/x", []string{"h1", "h2"}, "h1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", tc.url, nil)
		for _, h := range tc.header {
			r.Header.Add("X-Functions-Key", h)
		}
		if got := Presented(r); got != tc.want {
			t.Errorf("Presented(%s, %q) = %q, want %q", tc.url, tc.header, got, tc.want)
		}
	}
}

func TestEnsureDefaultsOnce(t *testing.T) {
	e := newEnv(t)
	if err := e.s.EnsureDefaults(e.ctx, "shop", []string{"Hello", "Orders"}); err != nil {
		t.Fatal(err)
	}
	hostDefault, ok := e.s.Get("shop", HostScope(), DefaultName)
	if !ok || len(hostDefault) != 56 {
		t.Fatalf("host default = %q %v", hostDefault, ok)
	}
	helloDefault, _ := e.s.Get("shop", FunctionScope("Hello"), DefaultName)
	if _, ok := e.s.Get("shop", FunctionScope("Orders"), DefaultName); !ok || helloDefault == "" {
		t.Fatal("function defaults missing")
	}
	if found, err := e.s.Delete(e.ctx, "shop", FunctionScope("Orders"), DefaultName); err != nil || !found {
		t.Fatal(found, err)
	}
	if err := e.s.EnsureDefaults(e.ctx, "shop", []string{"Hello", "Orders", "New"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.s.Get("shop", HostScope(), DefaultName); v != hostDefault {
		t.Error("host default replaced")
	}
	if v, _ := e.s.Get("shop", FunctionScope("Hello"), DefaultName); v != helloDefault {
		t.Error("function default replaced")
	}
	if _, ok := e.s.Get("shop", FunctionScope("Orders"), DefaultName); ok {
		t.Error("a deleted default key came back")
	}
	if _, ok := e.s.Get("shop", FunctionScope("New"), DefaultName); !ok {
		t.Error("a new function got no default key")
	}
}

func TestSetListDelete(t *testing.T) {
	e := newEnv(t)
	v, created, err := e.s.Set(e.ctx, "shop", HostScope(), "name with: odd/chars", "")
	if err != nil || !created || len(v) != 56 {
		t.Fatalf("Set = %q %v %v", v, created, err)
	}
	v2, created, err := e.s.Set(e.ctx, "shop", HostScope(), "name with: odd/chars", "explicit-value-1")
	if err != nil || created || v2 != "explicit-value-1" {
		t.Fatalf("replace = %q %v %v", v2, created, err)
	}
	e.set("shop", HostScope(), "HA-default", "replicated-value")
	got := e.s.List("shop", HostScope())
	want := []Key{{"HA-default", "replicated-value"}, {"name with: odd/chars", "explicit-value-1"}}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if len(e.s.List("shop", SystemScope())) != 0 || len(e.s.List("ghost", HostScope())) != 0 {
		t.Fatal("unexpected keys")
	}
	if found, err := e.s.Delete(e.ctx, "shop", HostScope(), "HA-default"); !found || err != nil {
		t.Fatal(found, err)
	}
	if found, _ := e.s.Delete(e.ctx, "shop", HostScope(), "HA-default"); found {
		t.Fatal("deleted twice")
	}
	if e.s.Authorize("shop", "", "replicated-value") != Anonymous {
		t.Fatal("a deleted key still authorizes")
	}
	for _, bad := range []struct {
		app  string
		sc   Scope
		name string
	}{{"bad.app", HostScope(), "k"}, {"shop", FunctionScope(""), "k"}, {"shop", HostScope(), ""}, {"shop", Scope{}, "k"}} {
		if _, _, err := e.s.Set(e.ctx, bad.app, bad.sc, bad.name, ""); err == nil {
			t.Errorf("Set(%q, %v, %q) accepted", bad.app, bad.sc, bad.name)
		}
	}
	if _, _, err := e.s.Set(e.ctx, "shop", HostScope(), "k", "has space"); err == nil {
		t.Error("value with a space accepted")
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	e := newEnv(t)
	if err := e.s.EnsureDefaults(e.ctx, "shop", []string{"Hello"}); err != nil {
		t.Fatal(err)
	}
	custom := e.set("shop", FunctionScope("Hello"), "partner", "")
	def, _ := e.s.Get("shop", HostScope(), DefaultName)
	if err := e.s.Shutdown(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Shutdown(e.ctx); err != nil { // safe twice
		t.Fatal(err)
	}
	e.b.Shutdown()
	e.startBroker()
	e.s = e.startStore()
	if v, _ := e.s.Get("shop", HostScope(), DefaultName); v != def {
		t.Error("host default changed across restart")
	}
	if e.s.Authorize("shop", "Hello", custom) != Function {
		t.Error("function key lost across restart")
	}
	if err := e.s.EnsureDefaults(e.ctx, "shop", []string{"Hello"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.s.Get("shop", HostScope(), DefaultName); v != def {
		t.Error("EnsureDefaults replaced a key after restart")
	}
}

func TestWatchFollowsOtherWriters(t *testing.T) {
	e := newEnv(t)
	other := e.startStore() // a second process on the same bucket
	v, _, err := other.Set(e.ctx, "shop", SystemScope(), "ext", "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the put to reach the first store", func() bool { return e.s.Authorize("shop", "x", v) == System })
	if _, err := other.Delete(e.ctx, "shop", SystemScope(), "ext"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delete to reach the first store", func() bool { return e.s.Authorize("shop", "x", v) == Anonymous })
	a := e.set("shop", HostScope(), "a", "")
	e.set("shop", FunctionScope("Hello"), "b", "")
	eventually(t, "the second store to see both keys", func() bool {
		return len(other.List("shop", HostScope())) == 1 && len(other.List("shop", FunctionScope("Hello"))) == 1
	})
	if err := other.DeleteApp(e.ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "DeleteApp to empty the app", func() bool {
		return len(e.s.List("shop", HostScope())) == 0 && len(e.s.List("shop", FunctionScope("Hello"))) == 0
	})
	if e.s.Authorize("shop", "Hello", a) != Anonymous {
		t.Error("a key of a deleted app still authorizes")
	}
}

func TestNewNeedsOptions(t *testing.T) {
	if _, err := New(Options{Master: testMaster}); err == nil {
		t.Error("New without storage accepted")
	}
	e := newEnv(t)
	if _, err := New(Options{Broker: e.b}); err == nil {
		t.Error("New without a master key accepted")
	}
}

// BenchmarkAuthorize measures the hot path: a function key found after the
// system and host scopes were searched (10 keys in each).
func BenchmarkAuthorize(b *testing.B) {
	ctx := context.Background()
	br, err := broker.Start(ctx, broker.Options{Region: "east", Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Shutdown()
	s, err := New(Options{Broker: br, Master: testMaster})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(ctx)
	var last string
	for i := range 10 {
		for _, sc := range []Scope{SystemScope(), HostScope(), FunctionScope("Hello")} {
			if last, _, err = s.Set(ctx, "shop", sc, fmt.Sprint("k", i), ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Authorize("shop", "Hello", last) != Function {
			b.Fatal("not authorized")
		}
	}
}
