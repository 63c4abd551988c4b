package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemhq/tandem/internal/alloctest"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/host"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/metering"
	"github.com/tandemhq/tandem/internal/testbin"
)

// maxForwardAllocs is the ceiling on heap allocations for one GET forwarded
// through the gateway to a real handler process (forwarding mode,
// anonymous function, metering on), counted in this process only: route
// match, invocation, the round trip to the handler, the response copy.
// Raise it only with a reason; a rise is a regression on the hot path.
const (
	maxForwardAllocs = 30
	maxForwardBytes  = 2 << 10
)

func TestForwardAllocsCeiling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if testing.Short() {
		t.Skip("builds and runs the echo handler")
	}
	g, req := echoGateway(t, true)
	w := alloctest.NewDiscardWriter()
	serve := func() {
		w.Reset()
		g.ServeHTTP(w, req)
		if w.Status != http.StatusOK {
			t.Fatalf("status %d", w.Status)
		}
	}
	for range 50 { // warm the connection pool and the metric children
		serve()
	}
	allocs := testing.AllocsPerRun(500, serve)
	bytes := alloctest.BytesPerRun(500, serve)
	t.Logf("%.1f allocations, %d bytes per forwarded request (ceilings %d, %d)", allocs, bytes, maxForwardAllocs, maxForwardBytes)
	if allocs > maxForwardAllocs {
		t.Errorf("a forwarded request allocates %.1f times, above the ceiling of %d", allocs, maxForwardAllocs)
	}
	if bytes > maxForwardBytes {
		t.Errorf("a forwarded request allocates %d bytes, above the ceiling of %d", bytes, maxForwardBytes)
	}
}

// maxPayloadAllocs and maxPayloadBytes: the same GET in payload mode (the
// gateway builds the invocation payload and parses the handler's reply).
const (
	maxPayloadAllocs = 115
	maxPayloadBytes  = 10 << 10
)

func TestPayloadAllocsCeiling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if testing.Short() {
		t.Skip("builds and runs the echo handler")
	}
	g, req := echoGateway(t, false)
	w := alloctest.NewDiscardWriter()
	serve := func() {
		w.Reset()
		g.ServeHTTP(w, req)
		if w.Status != http.StatusOK {
			t.Fatalf("status %d", w.Status)
		}
	}
	for range 50 {
		serve()
	}
	allocs := testing.AllocsPerRun(300, serve)
	bytes := alloctest.BytesPerRun(300, serve)
	t.Logf("%.1f allocations, %d bytes per payload-mode request (ceilings %d, %d)", allocs, bytes, maxPayloadAllocs, maxPayloadBytes)
	if allocs > maxPayloadAllocs {
		t.Errorf("a payload-mode request allocates %.1f times, above the ceiling of %d", allocs, maxPayloadAllocs)
	}
	if bytes > maxPayloadBytes {
		t.Errorf("a payload-mode request allocates %d bytes, above the ceiling of %d", bytes, maxPayloadBytes)
	}
}

// echoGateway is a gateway serving one app whose handler is the echo test
// handler, started as a real process, in forwarding or payload mode.
func echoGateway(t testing.TB, forward bool) (*Gateway, *http.Request) {
	t.Helper()
	app, pool, log := echoApp(t, "", `"enableForwardingHttpRequest":`+strconv.FormatBool(forward), `"get"`)
	inv := invoke.New(invoke.Options{App: app, Pool: pool, Meter: metering.New(prometheus.NewRegistry(), metering.DefaultPrices), Logger: log, NoAccessLog: true})
	g := New(Options{Logger: log})
	if err := g.SetApp(inv); err != nil {
		t.Fatal(err)
	}
	return g, httptest.NewRequest(http.MethodGet, "http://bench.localhost/api/hello", nil)
}

// echoApp loads app "bench", whose function hello (/api/hello, anonymous,
// the given methods) the echo test handler serves, and its handler pool
// (one instance at most). hostJSON adds fields to host.json, handlerJSON
// to its customHandler section.
func echoApp(t testing.TB, hostJSON, handlerJSON, methods string) (*funcapp.App, *host.Pool, *slog.Logger) {
	t.Helper()
	exe := testbin.Build(t, "testdata/handlers/echo")
	dir := filepath.Join(t.TempDir(), "bench")
	writeFile(t, filepath.Join(dir, "host.json"), `{"version":"2.0",`+hostJSON+`"customHandler":{"description":{"defaultExecutablePath":"`+exe+`"},`+handlerJSON+`}}`)
	writeFile(t, filepath.Join(dir, "hello", "function.json"), `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":[`+methods+`]},{"type":"http","direction":"out","name":"res"}]}`)
	app, err := funcapp.Load("bench", dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := host.New(host.Options{App: app.Name, Root: app.Root, Path: app.ExecutablePath(), Dir: app.WorkingDirectory(), MaxInstances: 1, Logger: log})
	t.Cleanup(func() { _ = pool.Shutdown(context.Background()) })
	return app, pool, log
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkForwardServeHTTP is the gateway's own cost per forwarded GET,
// one request at a time against the echo handler process: the time and
// allocations of this process (the handler's are its own).
//
//	go test -run XXX -bench ServeHTTP -count 5 ./internal/gateway/
func BenchmarkForwardServeHTTP(b *testing.B) { benchServeHTTP(b, true) }

// BenchmarkPayloadServeHTTP is the same in payload mode.
func BenchmarkPayloadServeHTTP(b *testing.B) { benchServeHTTP(b, false) }

func benchServeHTTP(b *testing.B, forward bool) {
	g, req := echoGateway(b, forward)
	w := alloctest.NewDiscardWriter()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		w.Reset()
		g.ServeHTTP(w, req)
		if w.Status != http.StatusOK {
			b.Fatalf("status %d", w.Status)
		}
	}
	// CPU time rather than wall time: the machine is shared, and wall
	// time per request is mostly waiting for the handler's turn.
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
