package region

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBodyBytesInFlightAreBounded: past MaxBodyInFlight bytes of request
// bodies held by payload-mode invocations, a request gets a 503 that says
// why (with Retry-After), and the bytes come back when requests finish.
func TestBodyBytesInFlightAreBounded(t *testing.T) {
	app := testApp{name: "shop", functions: map[string]string{"up": httpFn("anonymous", "up")}}
	tr := startRegion(t, func(o *Options) { o.MaxBodyInFlight = 1 << 20 }, app)
	body := strings.Repeat("b", 700<<10)
	held := make(chan response, 1)
	go func() { held <- tr.do("POST", "/api/up?sleep=3000", "", body) }()
	eventually(t, "the first body held by an invocation", func() bool { return tr.inFlight("shop") == 1 })
	res := tr.do("POST", "/api/up", "", body)
	if res.code != http.StatusServiceUnavailable || !strings.Contains(string(res.body), "--max-body-bytes-in-flight") || res.header.Get("Retry-After") == "" {
		t.Fatalf("second body: %d %s %v, want 503 naming the limit with Retry-After", res.code, res.body, res.header)
	}
	if r := <-held; r.code != http.StatusOK {
		t.Fatalf("first body: %d %s", r.code, r.body)
	}
	if r := tr.do("POST", "/api/up", "", body); r.code != http.StatusOK {
		t.Fatalf("after the first finished: %d %s", r.code, r.body)
	}
}

// TestSlowAndIdleConnectionsAreClosed: a client that sends headers and
// then trickles (or never sends) its body, and a keep-alive connection
// left idle, are closed by the region's HTTP timeouts (they used to stay
// open for ever).
func TestSlowAndIdleConnectionsAreClosed(t *testing.T) {
	app := testApp{name: "shop", functions: map[string]string{"up": httpFn("anonymous", "up")}}
	short := HTTPTimeouts{ReadHeader: 300 * time.Millisecond, Read: 300 * time.Millisecond, Write: 2 * time.Second, Idle: 300 * time.Millisecond}
	tr := startRegion(t, func(o *Options) { o.HTTP = short }, app)
	cases := []struct {
		name, send string
		answer     bool // read one response first
	}{
		{"headers never finished", "POST /api/up HTTP/1.1\r\nHost: x\r\n", false},
		{"body never sent", "POST /api/up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nslow", true},
		{"idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", tr.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, c.send); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // far beyond the region's timeouts
			rd := bufio.NewReader(conn)
			if c.answer {
				resp, err := http.ReadResponse(rd, nil)
				if err != nil {
					t.Fatalf("response: %v", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			_, err = io.Copy(io.Discard, rd)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the region kept the connection open")
			}
		})
	}
}
