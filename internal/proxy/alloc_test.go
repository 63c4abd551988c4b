package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tandemhq/tandem/internal/alloctest"
)

// Ceilings for one small GET proxied to a real backend on loopback by
// the net/http engine (ServeHTTP: httputil.ReverseProxy, what h2c,
// upgrades and 100-continue take), counted in this process: the proxy,
// its transport and the in-process backend server (about a dozen
// allocations of the total are the backend's). 91 allocations, 7.5 KB
// since plain HTTP/1.1 left this engine for fasthttp (it was 73 with a
// lighter copy of ReverseProxy for plain requests, removed with them).
// Raise them only with a reason.
const (
	maxProxyAllocs = 96
	maxProxyBytes  = 8 << 10
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
	alloctest.Ceiling(t, "proxied request", serve, maxProxyAllocs, maxProxyBytes)
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

// Ceilings for the same GET on the HTTP/1.1 engine's path (ServeFast with
// the target's fasthttp client), counted the same way: the in-process
// backend server's allocations are most of them.
const (
	maxFastAllocs = 32
	maxFastBytes  = 4 << 10
)

func TestFastPathAllocsCeiling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	px, _ := allocProxy(t)
	tg := px.opts.Picker.(listPicker)[0]
	px.opts.Picker = listPicker{NewTarget(tg.Name, tg.URL, TransportOptions{ConnectTimeout: time.Second, ResponseTimeout: 5 * time.Second})}
	var req fasthttp.Request
	req.SetRequestURI("/")
	req.Header.SetHost("app.bench.local")
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	var ctx fasthttp.RequestCtx
	serve := func() {
		ctx.Init(&req, remote, nil)
		if !px.ServeFast(&ctx) || ctx.Response.StatusCode() != http.StatusOK {
			t.Fatalf("status %d", ctx.Response.StatusCode())
		}
		if err := ctx.Response.BodyWriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
		ctx.Response.Reset()
	}
	alloctest.Ceiling(t, "proxied request (HTTP/1.1 engine)", serve, maxFastAllocs, maxFastBytes)
}
