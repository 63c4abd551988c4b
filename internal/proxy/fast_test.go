package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The HTTP/1.1 engine (fasthttp) keeps ReverseProxy's rules: hop-by-hop
// headers dropped both ways (and those Connection names), no Go
// User-Agent added, unparsable query parameters dropped, trailers passed.
func TestFastPathHeaderRules(t *testing.T) {
	var seen http.Header
	var query string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, query = r.Header.Clone(), r.URL.RawQuery
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	req, _ := http.NewRequest(http.MethodGet, base+"/p?a=1;b=2&c=3", nil)
	req.Header.Set("Connection", "X-Secret")
	req.Header.Set("X-Secret", "s")
	req.Header.Set("Proxy-Authorization", "Basic x")
	req.Header.Set("User-Agent", "") // the client sends none
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, h := range []string{"X-Secret", "Proxy-Authorization", "Connection", "User-Agent"} {
		if v, ok := seen[h]; ok {
			t.Errorf("upstream saw %s: %q", h, v)
		}
	}
	if query != "c=3" {
		t.Errorf("upstream saw query %q, want c=3 (the unparsable a=1;b=2 dropped)", query)
	}
	if resp.Header.Get("X-Hop") != "" {
		t.Errorf("client saw the upstream's hop-by-hop X-Hop")
	}
	if string(body) != "body" || resp.Trailer.Get("X-Sum") != "42" {
		t.Errorf("body %q, trailer X-Sum %q; want body and 42", body, resp.Trailer.Get("X-Sum"))
	}
}

// A response body that breaks midway cuts the client's response (an
// error, at the headers or in the body) instead of ending it as if whole.
func TestFastPathBrokenBodyAbortsClient(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, strings.Repeat("x", 10))
		http.NewResponseController(w).Flush()
		hijackClose(w)
	}))
	t.Cleanup(up.Close)
	base := startProxy(t, targets(t, time.Second, up.URL), 1024, &reports{})
	resp, err := http.Get(base + "/")
	if err != nil {
		return // cut before the headers left the proxy's buffer: as good
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("client read a cut body without an error")
	}
}
