package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/alloctest"
)

// Ceilings for one small GET proxied to a real backend on loopback,
// counted in this process: the proxy, its transport and the in-process
// backend server (about a dozen allocations of the total are the backend's).
// Raise them only with a reason; a rise is a regression on the hot path.
const (
	maxProxyAllocs = 78
	maxProxyBytes  = 7 << 10
)

func TestProxyAllocsCeiling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	px, req := allocProxy(t)
	w := alloctest.NewDiscardWriter()
	serve := func() {
		w.Reset()
		px.ServeHTTP(w, req)
		if w.Status != http.StatusOK {
			t.Fatalf("status %d", w.Status)
		}
	}
	for range 50 { // warm the connection pool
		serve()
	}
	allocs := testing.AllocsPerRun(500, serve)
	bytes := alloctest.BytesPerRun(500, serve)
	t.Logf("%.1f allocations, %d bytes per proxied request (ceilings %d, %d)", allocs, bytes, maxProxyAllocs, maxProxyBytes)
	if allocs > maxProxyAllocs {
		t.Errorf("a proxied request allocates %.1f times, above the ceiling of %d", allocs, maxProxyAllocs)
	}
	if bytes > maxProxyBytes {
		t.Errorf("a proxied request allocates %d bytes, above the ceiling of %d", bytes, maxProxyBytes)
	}
}

// allocProxy is a proxy with one endpoint, a real backend on 127.0.0.1:0
// answering 13 bytes, with Report and Done hooks as the traffic manager
// sets them.
func allocProxy(t *testing.T) (*Proxy, *http.Request) {
	t.Helper()
	body := []byte("hello from a\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "a")
		_, _ = w.Write(body)
	}))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	tr := NewTransport(TransportOptions{ConnectTimeout: time.Second, ResponseTimeout: 5 * time.Second})
	t.Cleanup(tr.CloseIdleConnections)
	px := New(Options{Picker: listPicker{{Name: "a", URL: u, Transport: tr}}, MaxBodyBytes: 1 << 20,
		Report: func(Target, Outcome, time.Duration) {}, Done: func(string, int, time.Duration) {}})
	req := httptest.NewRequest(http.MethodGet, "http://app.bench.local/", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	return px, req
}
