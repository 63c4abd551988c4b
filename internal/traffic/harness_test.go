package traffic

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/proxy"
	"github.com/tandemhq/tandem/internal/role"
	"github.com/tandemhq/tandem/internal/topology"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// region is a real HTTP server on loopback standing in for a region's
// gateway: GET /healthz as regions serve it, /admin/role through a real
// role.Manager on an embedded JetStream behind a master-key check, and an
// app handler that counts arrivals and can be told to misbehave.
type region struct {
	t        *testing.T
	name     string
	key      string
	roles    *role.Manager
	addr     string
	mu       sync.Mutex
	srv      *http.Server
	healthy  atomic.Bool
	appMode  atomic.Value // "ok", "die" or "refuse" (a secondary refusing writes)
	follows  atomic.Value // the primary a refusal names (proxy.PrimaryHeader), if a string
	arrivals atomic.Int64
	probeHdr atomic.Value // last X-Probe header seen on /healthz
	delay    time.Duration
	code     atomic.Int32 // /healthz status while healthy
	adminOff atomic.Bool  // /admin/* answers 500: the region cannot take role changes
	clk      *clock.Fake  // set by newFakeRegion
}

func newFakeRegion(t *testing.T, b *broker.Broker, name string, clk *clock.Fake) *region {
	r := newRegion(t, b, name, clk)
	r.clk = clk
	return r
}

func newRegion(t *testing.T, b *broker.Broker, name string, clk clock.Clock) *region {
	t.Helper()
	r := &region{t: t, name: name, key: name + "-master-key"}
	r.healthy.Store(true)
	r.code.Store(http.StatusOK)
	r.appMode.Store("ok")
	r.probeHdr.Store("")
	r.roles = role.New(role.Options{Region: name, JS: b.JetStream(), Bucket: broker.Name(name, "role"), Clock: clk,
		Initial: role.State{Role: role.Secondary}, Logger: testLogger(t)})
	if err := r.roles.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.roles.Shutdown(context.Background()) })
	r.start("127.0.0.1:0")
	t.Cleanup(r.stop)
	return r
}

func (r *region) handler() http.Handler {
	admin := http.NewServeMux()
	r.roles.RegisterAdmin(admin)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", r.serveHealthz)
	mux.Handle("/admin/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.adminOff.Load() {
			http.Error(w, `{"error":"admin unavailable"}`, http.StatusInternalServerError)
			return
		}
		if subtle.ConstantTimeCompare([]byte(req.Header.Get("x-functions-key")), []byte(r.key)) != 1 {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		admin.ServeHTTP(w, req)
	}))
	mux.HandleFunc("/", r.serveApp)
	return mux
}

func (r *region) serveHealthz(w http.ResponseWriter, req *http.Request) {
	r.probeHdr.Store(req.Header.Get("X-Probe") + "|" + req.Host)
	if r.delay > 0 {
		time.Sleep(r.delay) // a slow region: the latency performance routing measures
	}
	s := r.roles.State()
	code := int(r.code.Load())
	if !r.healthy.Load() {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"region": r.name, "role": s.Role, "epoch": s.Epoch})
}

func (r *region) serveApp(w http.ResponseWriter, req *http.Request) {
	r.arrivals.Add(1)
	if r.appMode.Load() == "die" {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	if r.appMode.Load() == "refuse" && req.Method != http.MethodGet {
		w.Header().Set(proxy.RefusedHeader, "not-primary")
		if p, ok := r.follows.Load().(string); ok {
			w.Header().Set(proxy.PrimaryHeader, p)
		}
		w.Header().Set("X-Region", r.name)
		http.Error(w, "a secondary refuses writes", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	w.Header().Set("X-Region", r.name)
	_, _ = io.WriteString(w, r.name)
}

// start serves on addr (the same port again after stop).
func (r *region) start(addr string) {
	r.t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addr = l.Addr().String()
	srv := &http.Server{Handler: r.handler()}
	r.srv = srv
	go func() { _ = srv.Serve(l) }()
}

// stop kills the server: listener and every connection closed at once.
func (r *region) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		_ = r.srv.Close()
		r.srv = nil
	}
}

func (r *region) url() string { return "http://" + r.addr }

// setup describes a traffic manager under test.
type setup struct {
	routing     string
	interval    string
	timeout     string
	tolerated   int
	rise        int
	passive     int
	lease       string
	margin      string
	weights     []int
	extra       string // more YAML under traffic:
	proxyURLs   []string
	dns         bool
	expectedSts string
}

func (s setup) withDefaults() setup {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.routing, "priority")
	def(&s.interval, "100ms")
	def(&s.timeout, "80ms")
	def(&s.lease, "600ms")
	def(&s.margin, "100ms")
	def(&s.expectedSts, `["200-299"]`)
	if s.rise == 0 {
		s.rise = 1
	}
	if s.passive == 0 {
		s.passive = 3
	}
	return s
}

// topologyFor writes key files and returns the parsed topology.
func topologyFor(t *testing.T, s setup, regions ...*region) *topology.Topology {
	t.Helper()
	top, err := topology.Parse([]byte(topologyYAML(t, s, regions...)))
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func topologyYAML(t *testing.T, s setup, regions ...*region) string {
	t.Helper()
	s = s.withDefaults()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("regions:\n")
	for i, r := range regions {
		keyFile := filepath.Join(dir, r.name+".key")
		if err := os.WriteFile(keyFile, []byte(r.key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		w, u := 1, r.url()
		if i < len(s.weights) {
			w = s.weights[i]
		}
		if i < len(s.proxyURLs) && s.proxyURLs[i] != "" {
			u = s.proxyURLs[i]
		}
		fmt.Fprintf(&b, "  - {name: %s, proxyURL: %q, adminURL: %q, priority: %d, weight: %d, adminKeyFile: %q}\n",
			r.name, u, r.url(), i+1, w, keyFile)
	}
	trafficKey := filepath.Join(dir, "traffic.key")
	if err := os.WriteFile(trafficKey, []byte("traffic-admin-key"), 0o600); err != nil {
		t.Fatal(err)
	}
	dnsListen := ""
	if s.dns {
		dnsListen = ", dns: \"127.0.0.1:0\""
	}
	fmt.Fprintf(&b, `traffic:
  listen: {http: "127.0.0.1:0", admin: "127.0.0.1:0"%s}
  adminKeyFile: %q
  profile: {name: app.tandem.local, ttl: 3s}
  routing: %s
  probes: {interval: %s, timeout: %s, toleratedFailures: %d, rise: %d, expectedStatus: %s, headers: {X-Probe: tandem, Host: probe.local}}
  passive: {consecutiveFailures: %d}
  lease: %s
  leaseMargin: %s
  retry: {connectTimeout: 500ms, responseTimeout: 2s}
%s`, dnsListen, trafficKey, s.routing, s.interval, s.timeout, s.tolerated, s.rise, s.expectedSts, s.passive, s.lease, s.margin, s.extra)
	return b.String()
}

func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.Start(context.Background(), broker.Options{Region: "regions", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return b
}

func startManager(t *testing.T, top *topology.Topology, dataDir string, clk clock.Clock) *Manager {
	t.Helper()
	m := New(Options{Topology: top, DataDir: dataDir, Clock: clk, Logger: testLogger(t)})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Shutdown(context.Background())
		_ = m.Shutdown(context.Background()) // safe twice
	})
	return m
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// get sends a request through the manager's proxy and returns status and the answering region.
func get(t *testing.T, m *Manager, method string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+m.HTTPAddr()+"/app", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Region")
}

func (m *Manager) endpointHealth(name string) healthView { return m.table().byName[name].health.view() }

// fakeStepper moves a fake clock one due timer at a time, waiting after each
// step until every prober and the witness are idle again.
type fakeStepper struct {
	t      *testing.T
	clk    *clock.Fake
	m      *Manager
	timers int // armed timers when idle: enabled probers + the witness
}

func (f *fakeStepper) quiet() {
	f.t.Helper()
	eventually(f.t, 5*time.Second, "the manager to go idle", func() bool {
		return f.clk.Timers() == f.timers && f.m.wit.kicks.Load() == 0
	})
}

func (f *fakeStepper) stepTo(target time.Time) {
	f.t.Helper()
	for {
		f.quiet()
		d, ok := f.clk.NextDeadline()
		if !ok || d.After(target) {
			f.clk.Set(target)
			f.quiet()
			return
		}
		f.clk.Set(d)
	}
}

func (f *fakeStepper) step(d time.Duration) { f.stepTo(f.clk.Now().Add(d)) }

// testLogger sends logs to the test's output (shown on failure or -v).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
