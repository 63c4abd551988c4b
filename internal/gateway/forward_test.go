package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/host"
	"github.com/tandemhq/tandem/internal/invoke"
)

// What the gateway's client to the handler must still do: stream, cut,
// time out, pass redirects through, carry large bodies both ways, end a
// call whose caller went away, and survive a connection the handler
// closed while idle. Each runs a real echo handler process.

// forwardServer serves one forwarding-mode app (function hello, GET and
// POST, /api/hello) through the gateway on a real HTTP server; hostJSON
// adds fields to host.json.
func forwardServer(t *testing.T, hostJSON string) (string, *host.Pool) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the echo handler")
	}
	app, pool, log := echoApp(t, hostJSON, `"enableForwardingHttpRequest":true`, `"get","post"`)
	g := New(Options{Logger: log})
	if err := g.SetApp(invoke.New(invoke.Options{App: app, Pool: pool, Logger: log})); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/hello", pool
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// Each server-sent event reaches the caller before the handler sends the
// next: the handler waits for the test to have read event i.
func TestForwardFlushesEachEvent(t *testing.T) {
	url, _ := forwardServer(t, "")
	gate := filepath.Join(t.TempDir(), "gate")
	client := &http.Client{Timeout: 8 * time.Second} // the handler gives up on a gate after 10 s
	resp, err := client.Get(url + "?events=3&gate=" + gate)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := bufio.NewReader(resp.Body)
	for i := 1; i <= 3; i++ {
		line, err := lines.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v (not flushed as sent?)", i, line, err)
		}
		_, _ = lines.ReadString('\n')
		writeFile(t, fmt.Sprintf("%s.%d", gate, i), "")
	}
	if rest, err := io.ReadAll(lines); err != nil || len(rest) != 0 {
		t.Fatalf("after the last event: %q %v", rest, err)
	}
}

// A handler that closes its connection mid-body cuts the caller's
// response: it gets what was sent, then an error, not a complete body.
func TestForwardHandlerClosingMidBody(t *testing.T) {
	url, pool := forwardServer(t, "")
	resp, err := http.Get(url + "?cut=1000")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != 2000 {
		t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if err == nil || len(body) > 1000 {
		t.Fatalf("read %d bytes, err %v; want at most 1000 and an error", len(body), err)
	}
	waitUntil(t, "the call to end", 5*time.Second, func() bool { return pool.Stats().InFlight == 0 })
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request: %v %v", resp, err)
	}
}

// functionTimeout ends a call before the handler answers (500, timed
// out) and cuts a streamed response after its head was sent.
func TestForwardTimeout(t *testing.T) {
	url, pool := forwardServer(t, `"functionTimeout":"00:00:01",`)
	start := time.Now()
	resp, err := http.Get(url + "?sleep=6000")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "timed out") {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("answered after %s, with a 1 s function timeout", d)
	}
	waitUntil(t, "the call to end", 5*time.Second, func() bool { return pool.Stats().InFlight == 0 })

	start = time.Now()
	resp, err = http.Get(url + "?events=2&gate=" + filepath.Join(t.TempDir(), "never"))
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "data: 1\n\n") || strings.Contains(string(body), "data: 2") {
		t.Fatalf("status %d, body %q, err %v: want the first event, then the cut", resp.StatusCode, body, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("the stream ended after %s, with a 1 s function timeout", d)
	}
}

// A redirect reaches the caller as the handler sent it.
func TestForwardPassesRedirectsThrough(t *testing.T) {
	url, _ := forwardServer(t, "")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(url + "?redirect=/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// Large bodies go through whole both ways: a request body of known and of
// unknown length (chunked), and a large response.
func TestForwardLargeBodies(t *testing.T) {
	url, _ := forwardServer(t, "")
	big := []byte(strings.Repeat("tandem-", 9<<17)) // 8 MiB and some
	sum := fmt.Sprintf("%x", sha256.Sum256(big))
	for name, body := range map[string]io.Reader{"known length": strings.NewReader(string(big)), "chunked": io.MultiReader(strings.NewReader(string(big)))} {
		resp, err := http.Post(url+"?digest=1", "application/octet-stream", body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got struct {
			BodyLen    int    `json:"bodyLen"`
			BodySha256 string `json:"bodySha256"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || got.BodyLen != len(big) || got.BodySha256 != sum {
			t.Fatalf("%s: the handler got %d bytes (%s), want %d (%s): %v", name, got.BodyLen, got.BodySha256, len(big), sum, err)
		}
	}
	const n = 20 << 20
	resp, err := http.Get(url + fmt.Sprintf("?big=%d", n))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || got != n {
		t.Fatalf("read %d bytes of %d: %v", got, n, err)
	}
}

// A caller that goes away ends the call to the handler at once.
func TestForwardCallerGoneEndsCall(t *testing.T) {
	url, pool := forwardServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"?sleep=8000", nil)
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()
	waitUntil(t, "the call to start", 10*time.Second, func() bool { return pool.Stats().InFlight == 1 })
	cancel()
	<-done
	waitUntil(t, "the call to end", 3*time.Second, func() bool { return pool.Stats().InFlight == 0 })
}

// A pooled connection the handler closed after answering is not an error
// for the next request: it is sent again on a new connection.
func TestForwardRetriesConnectionClosedWhileIdle(t *testing.T) {
	url, _ := forwardServer(t, "")
	for i := range 3 {
		resp, err := http.Get(url + "?drop=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "dropped" {
			t.Fatalf("drop %d: status %d %q", i, resp.StatusCode, body)
		}
		resp, err = http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after drop %d: status %d", i, resp.StatusCode)
		}
	}
}

// A handler that answers before reading a large request body (413) is
// heard: its answer reaches the caller, not a failed call.
func TestForwardEarlyAnswerToLargeBody(t *testing.T) {
	url, _ := forwardServer(t, "")
	big := strings.Repeat("x", 32<<20)
	for name, body := range map[string]io.Reader{"known length": strings.NewReader(big), "chunked": io.MultiReader(strings.NewReader(big))} {
		resp, err := http.Post(url+"?reject=1", "application/octet-stream", body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: status %d %s, want the handler's 413", name, resp.StatusCode, got)
		}
	}
}
