package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The HTTP/1.1 engine passes the client's X-Forwarded-For chain with its
// own hop appended and drops Forwarded.
func TestFrontendForwardedChain(t *testing.T) {
	var xff, fwd atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		xff.Store(strings.Join(r.Header.Values("X-Forwarded-For"), "|"))
		fwd.Store(r.Header.Get("Forwarded"))
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Header.Add("X-Forwarded-For", "10.0.0.1")
	req.Header.Add("X-Forwarded-For", "10.0.0.2")
	req.Header.Set("Forwarded", "for=10.0.0.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := xff.Load(); got != "10.0.0.1, 10.0.0.2, 127.0.0.1" || fwd.Load() != "" {
		t.Fatalf("upstream saw X-Forwarded-For %q, Forwarded %q", got, fwd.Load())
	}
}

// A backend that closes a keep-alive connection after answering (without
// saying so) makes the next request's pooled connection stale: the request
// goes again on a new connection, and the endpoint is not blamed.
func TestFrontendStaleBackendConnection(t *testing.T) {
	up := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1) // then closes: no Connection: close
	rep := &reports{}
	base := startProxy(t, targets(t, time.Second, up), 1024, rep)
	for i := range 3 {
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if got := rep.String(); got != "first:ok,first:ok,first:ok" {
		t.Fatalf("reports %q: a stale pooled connection counted against the endpoint", got)
	}
}

// Expect: 100-continue is relayed for a streamed body (a POST; a body
// the proxy buffers to replay it is read, so continued, at once): a
// backend that answers before reading the body (here 401) reaches the
// client with no 100 Continue before it, and one that reads it gets it.
func TestFrontendExpectContinue(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", n)
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	resp := rawRequest(t, base, "POST /x HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("first answer %d, want the backend's 401 (no 100 Continue)", resp.StatusCode)
	}
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, base+"/x", strings.NewReader("hello"))
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Authorization", "Bearer x")
	got100 := false
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{Got100Continue: func() { got100 = true }}))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "5" || !got100 {
		t.Fatalf("status %d body %q 100-continue %v", resp.StatusCode, body, got100)
	}
}

// A client that leaves an event stream ends the backend's request too
// (the proxy notices while the stream idles), and a connection whose
// streamed response ended serves the next request.
func TestFrontendStreamClientGoneAndKeepAlive(t *testing.T) {
	gone := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			_, _ = io.WriteString(w, "part one ")
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, "part two")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: hello\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		close(gone)
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	reused := 0
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reused++
		}
	}}
	for range 2 {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, base+"/chunked", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "part one part two" {
			t.Fatalf("body %q", body)
		}
	}
	if reused != 1 {
		t.Fatalf("the second request reused %d connections, want 1", reused)
	}
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if line != "data: hello\n" {
		t.Fatalf("event %q", line)
	}
	resp.Body.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's request did not end after the client left")
	}
}

// A large idempotent upload (above MaxBodyBytes) streams to the backend
// whole, unbuffered, past fasthttp's own body limit.
func TestFrontendLargeUploadStreams(t *testing.T) {
	const size = 16 << 20
	var got atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Store(n)
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, 5*time.Second, up.URL), 1<<20, &reports{})
	req, _ := http.NewRequest(http.MethodPut, base+"/big", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Load() != size {
		t.Fatalf("status %d, backend got %d bytes of %d", resp.StatusCode, got.Load(), size)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// Header names are matched whatever their case: a client's lowercase
// x-forwarded-host is replaced, its x-forwarded-for chain extended, and a
// lowercase x-tandem-refused from a region is a refusal.
func TestFrontendHeaderCase(t *testing.T) {
	var host, xff atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.Store(strings.Join(r.Header.Values("X-Forwarded-Host"), "|"))
		xff.Store(strings.Join(r.Header.Values("X-Forwarded-For"), "|"))
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	rawRequest(t, base, "GET / HTTP/1.1\r\nHost: app\r\nx-forwarded-host: evil\r\nx-forwarded-for: 10.0.0.1\r\n\r\n").Body.Close()
	if host.Load() != "app" || xff.Load() != "10.0.0.1, 127.0.0.1" {
		t.Fatalf("upstream saw X-Forwarded-Host %q, X-Forwarded-For %q", host.Load(), xff.Load())
	}

	refusing := newRawBackend(t, "HTTP/1.1 503 Service Unavailable\r\nx-tandem-refused: not-primary\r\nContent-Length: 0\r\n\r\n", 0)
	good := newBackend(t, "second", "ok")
	rep := &reports{}
	base = startProxy(t, targets(t, time.Second, refusing, good.srv.URL), 1024, rep)
	r2, err := http.Post(base+"/w", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 || rep.String() != "first:refused,second:ok" {
		t.Fatalf("status %d reports %q", r2.StatusCode, rep.String())
	}
}

// newRawBackend answers requests with reply, as written, and closes a
// connection after perConn of them (0: never), and returns its URL.
func newRawBackend(t *testing.T, reply string, perConn int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; perConn == 0 || n < perConn; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// A HEAD answer keeps the backend's Content-Length, and a small chunked
// PUT (buffered to be replayable) reaches the backend whole.
func TestFrontendHeadAndChunkedPut(t *testing.T) {
	var got atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		w.Header().Set("Content-Length", "13")
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, "hello from a\n")
		}
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	resp, err := http.Head(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 13 || len(resp.Header.Values("Date")) != 1 {
		t.Fatalf("HEAD: status %d, Content-Length %d, Date %q; want 200, 13 and one Date", resp.StatusCode, resp.ContentLength, resp.Header.Values("Date"))
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || got.Load() != "chunked body" {
		t.Fatalf("PUT: status %d, backend got %q", resp.StatusCode, got.Load())
	}
}

// rawRequest writes req, as written, on a new connection to base and
// reads the first response (its body unread; the connection closes with
// the test).
func rawRequest(t *testing.T, base, req string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Header blocks beyond fasthttp's 4 KiB default pass both ways: a 12 KB
// cookie in a request, a 40 KB header in a response.
func TestFrontendLargeHeaders(t *testing.T) {
	big := strings.Repeat("x", 40<<10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", big)
		fmt.Fprintf(w, "%d", len(r.Header.Get("Cookie")))
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Header.Set("Cookie", "c="+strings.Repeat("y", 12<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != fmt.Sprint(2+12<<10) || resp.Header.Get("X-Big") != big {
		t.Fatalf("status %d, backend saw a cookie of %s bytes, X-Big of %d bytes", resp.StatusCode, body, len(resp.Header.Get("X-Big")))
	}
}

// When a backend restarts (or a partition heals), every connection the
// proxy pooled to it is dead at once: the first request to find one
// closes them all, so its retry and the requests after it go on new
// connections. Several requests in flight at once fill the pool first.
func TestFrontendAllPooledConnectionsStale(t *testing.T) {
	const n = 6
	arrived, release := make(chan struct{}, n), make(chan struct{})
	var first atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.Add(1) <= n {
			arrived <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	rep := &reports{}
	base := startProxy(t, targets(t, 5*time.Second, up.URL), 1024, rep)
	var wg sync.WaitGroup
	for range n { // n requests at once: n backend connections, pooled after
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := http.Get(base + "/"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-arrived:
		case <-deadline:
			t.Fatal("the concurrent requests did not all reach the backend")
		}
	}
	close(release)
	wg.Wait()
	up.CloseClientConnections() // the backend drops every idle connection, as a restart does
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPut, base+"/", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d after the backend dropped its connections: %d (reports %s)", i, resp.StatusCode, rep.String())
		}
	}
}
