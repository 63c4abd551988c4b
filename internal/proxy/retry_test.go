package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a real HTTP server on loopback that counts arrivals and
// misbehaves on demand.
type backend struct {
	name     string
	srv      *httptest.Server
	arrivals atomic.Int64
	mode     atomic.Value // string: ok, die, die-after-body, 503, not-primary, hang
	release  chan struct{}
	lastBody atomic.Value // string
}

func newBackend(t *testing.T, name, mode string) *backend {
	t.Helper()
	b := &backend{name: name, release: make(chan struct{})}
	b.mode.Store(mode)
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(func() { close(b.release); b.srv.Close() })
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.arrivals.Add(1)
	switch b.mode.Load().(string) {
	case "die": // reads part of the body then the process "dies": connection closed, no reply
		_, _ = io.CopyN(io.Discard, r.Body, 3)
		hijackClose(w)
		return
	case "503":
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	case "not-primary": // a secondary region refusing a write before doing anything
		w.Header().Set(RefusedHeader, "not-primary")
		w.Header().Set(PrimaryHeader, "third")
		http.Error(w, "region first is a secondary of second", http.StatusServiceUnavailable)
		return
	case "promoted-after-refusing": // refuses once, then is the primary (a planned switch)
		if b.arrivals.Load() == 1 {
			w.Header().Set(RefusedHeader, "not-primary")
			http.Error(w, "region second is a secondary of first", http.StatusServiceUnavailable)
			return
		}
	case "not-primary-of-first": // refusing, naming first as the primary
		w.Header().Set(RefusedHeader, "not-primary")
		w.Header().Set(PrimaryHeader, "first")
		http.Error(w, "region second is a secondary of first", http.StatusServiceUnavailable)
		return
	case "hang-once": // the first request waits out the proxy (a write held during a promotion)
		if b.arrivals.Load() == 1 {
			select {
			case <-b.release:
			case <-r.Context().Done():
			}
			return
		}
	case "hang":
		select {
		case <-b.release:
		case <-r.Context().Done():
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	b.lastBody.Store(string(body))
	w.Header().Set("X-Backend", b.name)
	w.Header().Set("X-Seen-XFF", r.Header.Get("X-Forwarded-For"))
	w.Header().Set("X-Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
	w.Header().Set("X-Seen-Host", r.Header.Get("X-Forwarded-Host")+"|"+r.Host)
	_, _ = w.Write([]byte(b.name))
}

func hijackClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// refusedURL is an address nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// listPicker hands out a fixed list: the proxy's input, not a stand-in for
// the traffic manager's router (tested with the router in internal/traffic).
type listPicker []Target

func (l listPicker) Pick() ([]Target, error) { return l, nil }

func targets(t *testing.T, responseTimeout time.Duration, urls ...string) listPicker {
	t.Helper()
	var ts listPicker
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		tg := NewTarget([]string{"first", "second", "third"}[i], u, TransportOptions{ConnectTimeout: time.Second, ResponseTimeout: responseTimeout})
		t.Cleanup(tg.CloseIdle)
		ts = append(ts, tg)
	}
	return ts
}

type reports struct {
	mu   sync.Mutex
	list []string
}

func (r *reports) add(t Target, o Outcome, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, t.Name+":"+o.String())
}

func (r *reports) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.list, ",")
}

func startProxy(t *testing.T, p Picker, maxBody int64, rep *reports) string {
	t.Helper()
	px := New(Options{Picker: p, MaxBodyBytes: maxBody, Report: rep.add})
	return serveFrontend(t, px)
}

// serveFrontend serves px on 127.0.0.1:0 through the Frontend (both
// engines) and returns its base URL.
func serveFrontend(t *testing.T, px *Proxy) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fe := NewFrontend(func() *Proxy { return px }, DefaultServerTimeouts, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = fe.Serve(l) }()
	t.Cleanup(func() { _ = fe.Close(); <-done })
	return "http://" + l.Addr().String()
}

func TestRetryRulesMethodByMethod(t *testing.T) {
	big := strings.Repeat("x", 2048)
	cases := []struct {
		name        string
		method      string
		idemKey     bool
		body        string
		fault       string // first endpoint: refused, die, 503, hang
		wantStatus  int
		wantFirst   int64 // arrivals at the faulty endpoint
		wantSecond  int64 // arrivals at the healthy one
		wantReports string
	}{
		{"GET refused", "GET", false, "", "refused", 200, 0, 1, "first:not-sent,second:ok"},
		{"POST refused moves on", "POST", false, "payload", "refused", 200, 0, 1, "first:not-sent,second:ok"},
		{"POST large refused moves on", "POST", false, big, "refused", 200, 0, 1, "first:not-sent,second:ok"},
		{"GET empty reply", "GET", false, "", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"HEAD empty reply", "HEAD", false, "", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"OPTIONS empty reply", "OPTIONS", false, "", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"PUT empty reply", "PUT", false, "payload", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"DELETE empty reply", "DELETE", false, "", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"PUT too large not retried", "PUT", false, big, "die", 502, 1, 0, "first:no-response"},
		{"POST dies mid-request sent once", "POST", false, "payload", "die", 502, 1, 0, "first:no-response"},
		{"PATCH dies mid-request sent once", "PATCH", false, "payload", "die", 502, 1, 0, "first:no-response"},
		{"POST with Idempotency-Key retried", "POST", true, "payload", "die", 200, 1, 1, "first:no-response,second:ok"},
		{"GET 503 retried", "GET", false, "", "503", 200, 1, 1, "first:bad-status,second:ok"},
		{"POST 503 not retried", "POST", false, "payload", "503", 503, 1, 0, "first:bad-status"},
		{"POST refused by a secondary moves on", "POST", false, "", "not-primary", 200, 1, 1, "first:refused,second:ok"},
		{"PUT refused by a secondary moves on", "PUT", false, "payload", "not-primary", 200, 1, 1, "first:refused,second:ok"},
		{"GET response timeout retried", "GET", false, "", "hang", 200, 1, 1, "first:timeout,second:ok"},
		{"POST response timeout not retried", "POST", false, "payload", "hang", 504, 1, 0, "first:timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			good := newBackend(t, "second", "ok")
			var faulty *backend
			first := refusedURL(t)
			if c.fault != "refused" {
				faulty = newBackend(t, "first", c.fault)
				first = faulty.srv.URL
			}
			rep := &reports{}
			base := startProxy(t, targets(t, 300*time.Millisecond, first, good.srv.URL), 1024, rep)
			req, _ := http.NewRequest(c.method, base+"/x", strings.NewReader(c.body))
			if c.body == "" {
				req.Body = nil
			}
			if c.idemKey {
				req.Header.Set("Idempotency-Key", "k1")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, c.wantStatus)
			}
			if faulty != nil && faulty.arrivals.Load() != c.wantFirst {
				t.Errorf("faulty endpoint saw %d arrivals, want %d", faulty.arrivals.Load(), c.wantFirst)
			}
			if got := good.arrivals.Load(); got != c.wantSecond {
				t.Errorf("healthy endpoint saw %d arrivals, want %d", got, c.wantSecond)
			}
			if got := rep.String(); got != c.wantReports {
				t.Errorf("reports %q, want %q", got, c.wantReports)
			}
			if c.wantSecond == 1 && c.method != "HEAD" && c.body != "" && good.lastBody.Load() != c.body {
				t.Errorf("retried body arrived as %q", good.lastBody.Load())
			}
		})
	}
}

// TestRefusalsGoRoundOnce: refusals (503 with RefusedHeader) do not use up
// attempts: a target that refused in the first round is tried once more.
// A write refused by both regions in the middle of a planned switch
// reaches the new primary on the second round, and regions that keep
// refusing end it with their 503. A target that failed otherwise (the
// primary killed under the write) is not tried again in place of the
// standby that refused while it waited to be promoted (the chain drill
// lost PUTs that way: the second round went to the dead region).
func TestRefusalsGoRoundOnce(t *testing.T) {
	cases := []struct {
		name, method, first, second string
		wantStatus                  int
		wantReports                 string
	}{
		{"second promoted after refusing", http.MethodPost, "not-primary", "promoted-after-refusing", 200,
			"first:refused,second:refused,first:refused,second:ok"},
		{"both keep refusing", http.MethodPost, "not-primary", "not-primary", 503,
			"first:refused,second:refused,first:refused,second:refused"},
		{"first dies, second promoted after refusing", http.MethodPut, "die", "promoted-after-refusing", 200,
			"first:no-response,second:refused,second:ok"},
		{"first draining, second keeps refusing", http.MethodPut, "503", "not-primary", 503,
			"first:bad-status,second:refused,second:refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, second := newBackend(t, "first", c.first), newBackend(t, "second", c.second)
			rep := &reports{}
			base := startProxy(t, targets(t, time.Second, first.srv.URL, second.srv.URL), 1024, rep)
			var body io.Reader // a POST without a body may go round as a PUT with one
			if c.method == http.MethodPut {
				body = strings.NewReader("job")
			}
			req, err := http.NewRequest(c.method, base+"/api/work/1", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus || rep.String() != c.wantReports {
				t.Fatalf("status %d, reports %q; want %d, %q", resp.StatusCode, rep.String(), c.wantStatus, c.wantReports)
			}
		})
	}
}

// fallbackPicker picks the first two targets and offers, after a
// refusal, the targets at the offer indexes (the last one by default), as
// the traffic manager offers the primary the refusals named and its own.
type fallbackPicker struct {
	all   listPicker
	hint  *atomic.Value // the hint the fallback was asked with
	offer []int
}

func (f fallbackPicker) Pick() ([]Target, error) { return f.all[:2], nil }

func (f fallbackPicker) Fallback(hint string) []Target {
	f.hint.Store(hint)
	if f.offer == nil {
		return []Target{f.all[len(f.all)-1]}
	}
	out := make([]Target, 0, len(f.offer))
	for _, i := range f.offer {
		out = append(out, f.all[i])
	}
	return out
}

// TestRefusedLastTriesTheFallback: when the last attempt was refused, the
// Picker's fallback gets the request once (told the primary the refusal
// named), after a region that failed too (a hung or draining primary: the
// request was retryable, or the walk would have ended there), but never a
// fallback that already refused it or timed out on it.
func TestRefusedLastTriesTheFallback(t *testing.T) {
	cases := []struct {
		name, method, first string
		second              string // "not-primary" by default
		offer               []int
		wantStatus          int
		wantReports         string
	}{
		{"the primary the refusal named timed out: tried again", http.MethodPut, "hang-once", "not-primary-of-first", []int{0, 2}, 200,
			"first:timeout,second:refused,second:refused,first:ok"},
		{"refused everywhere", http.MethodPut, "not-primary", "", nil, 200,
			"first:refused,second:refused,first:refused,second:refused,third:ok"},
		{"a region failed, the other refused", http.MethodPut, "503", "", nil, 200,
			"first:bad-status,second:refused,second:refused,third:ok"},
		{"a POST refused everywhere", http.MethodPost, "not-primary", "", nil, 200,
			"first:refused,second:refused,first:refused,second:refused,third:ok"},
		{"the fallback refused already: the next one offered", http.MethodPut, "503", "", []int{1, 2}, 200,
			"first:bad-status,second:refused,second:refused,third:ok"},
		{"every fallback refused already", http.MethodPut, "not-primary", "", []int{0, 1}, 503,
			"first:refused,second:refused,first:refused,second:refused"},
		{"the fallback timed out already", http.MethodPut, "hang", "", []int{0}, 503,
			"first:timeout,second:refused,second:refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.second == "" {
				c.second = "not-primary"
			}
			first, second, third := newBackend(t, "first", c.first), newBackend(t, "second", c.second), newBackend(t, "third", "")
			rep := &reports{}
			hint := &atomic.Value{}
			picker := fallbackPicker{targets(t, time.Second, first.srv.URL, second.srv.URL, third.srv.URL), hint, c.offer}
			base := startProxy(t, picker, 1024, rep)
			var body io.Reader // a POST without a body goes round as a PUT with one
			if c.method == http.MethodPut {
				body = strings.NewReader("job")
			}
			req, err := http.NewRequest(c.method, base+"/api/work/1", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus || rep.String() != c.wantReports {
				t.Fatalf("status %d, reports %q; want %d, %q", resp.StatusCode, rep.String(), c.wantStatus, c.wantReports)
			}
			named := map[string]string{"not-primary": "third", "not-primary-of-first": "first"}[c.second]
			served := map[string]*backend{"first": first, "third": third}[named]
			if c.wantStatus == 200 && c.method == http.MethodPut && served.lastBody.Load() != "job" {
				t.Errorf("the fallback got body %q", served.lastBody.Load())
			}
			if hint.Load() != named {
				t.Errorf("the fallback was asked with hint %v, want %s (the refusals' %s)", hint.Load(), named, PrimaryHeader)
			}
		})
	}
}

func TestRetryableTable(t *testing.T) {
	cases := []struct {
		o                          Outcome
		idem, replayable, bodyRead bool
		want                       bool
	}{
		{NotSent, false, false, false, true},
		{NotSent, false, false, true, false},
		{Refused, false, false, false, true},
		{Refused, false, false, true, false},
		{Refused, false, true, true, true},
		{NoResponse, true, true, false, true},
		{NoResponse, true, false, true, false},
		{NoResponse, false, true, false, false},
		{Timeout, true, true, false, true},
		{BadStatus, false, true, false, false},
		{OK, true, true, false, false},
		{Canceled, true, true, false, false},
	}
	for _, c := range cases {
		if got := Retryable(c.o, c.idem, c.replayable, c.bodyRead); got != c.want {
			t.Errorf("Retryable(%v, idem=%v, replayable=%v, read=%v) = %v", c.o, c.idem, c.replayable, c.bodyRead, got)
		}
	}
}

func TestAllEndpointsFailing(t *testing.T) {
	rep := &reports{}
	base := startProxy(t, targets(t, time.Second, refusedURL(t), refusedURL(t)), 1024, rep)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("not-sent")) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

type errPicker struct{ err error }

func (e errPicker) Pick() ([]Target, error) { return nil, e.err }

func TestNoHealthyEndpointIs503(t *testing.T) {
	base := startProxy(t, errPicker{context.DeadlineExceeded}, 0, &reports{})
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !bytes.Contains(body, []byte("no healthy endpoint")) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestForwardedHeaders(t *testing.T) {
	b := newBackend(t, "only", "ok")
	base := startProxy(t, targets(t, time.Second, b.srv.URL), 1024, &reports{})
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Host = "app.tandem.local"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if h.Get("X-Seen-XFF") != "127.0.0.1" || h.Get("X-Seen-Proto") != "http" || h.Get("X-Seen-Host") != "app.tandem.local|app.tandem.local" {
		t.Fatalf("forwarded headers: xff=%q proto=%q host=%q", h.Get("X-Seen-XFF"), h.Get("X-Seen-Proto"), h.Get("X-Seen-Host"))
	}
}

// A retry goes to the next target's own path prefix with the client's
// path, not the path the first attempt was sent to.
func TestRetryKeepsClientPath(t *testing.T) {
	var seen atomic.Value
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.RequestURI())
	}))
	t.Cleanup(b.Close)
	px := startProxy(t, targets(t, time.Second, refusedURL(t)+"/one", b.URL+"/two"), 1<<20, &reports{})
	resp, err := http.Get(px + "/api/hello?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := seen.Load(), "/two/api/hello?x=1"; got != want {
		t.Fatalf("second target saw %v, want %q", got, want)
	}
}
