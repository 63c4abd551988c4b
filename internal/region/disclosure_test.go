package region

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// line returns the first log line containing every one of parts.
func (l *logBuffer) line(parts ...string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range strings.Split(l.b.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(ln, p)
		}
		if ok {
			return ln
		}
	}
	return ""
}

// TestFailuresDoNotLeakToCallers: a caller without the master key is told
// that a function failed and the invocation id, never the handler's reply,
// instance names or exit statuses (it used to get all three); the region's
// log has the details under that id, and the master key still sees them.
func TestFailuresDoNotLeakToCallers(t *testing.T) {
	logs := &logBuffer{}
	app := testApp{name: "shop", settings: map[string]string{"REPLY_refuse": "status:500"},
		functions: map[string]string{"refuse": httpFn("anonymous", "refuse")}}
	fwd := testApp{name: "fwd", forward: true, functions: map[string]string{"crash": httpFn("anonymous", "crash")}}
	tr := startRegion(t, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) }, app, fwd)
	cases := []struct {
		name, host, path string
		code             int
		secret           []string // in the detail, never in the public answer
	}{
		{"handler crash", "fwd.localhost", "/api/crash?crash=3", 502, []string{"exit status 3", "instance"}},
		{"handler error reply", "shop.localhost", "/api/refuse", 500, []string{"handler failed on purpose", "non-2xx"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := tr.do("GET", c.path, "", "", "Host", c.host)
			if res.code != c.code {
				t.Fatalf("%d %s, want %d", res.code, res.body, c.code)
			}
			id, _ := res.json(t)["invocationId"].(string)
			if id == "" || res.header.Get("X-Azure-Functions-InvocationId") != id {
				t.Fatalf("no invocation id in %s / %v", res.body, res.header)
			}
			for _, s := range c.secret {
				if strings.Contains(string(res.body), s) {
					t.Fatalf("anonymous caller told %q: %s", s, res.body)
				}
			}
			eventually(t, "the details logged under the invocation id", func() bool {
				return logs.line("invocationId="+id, c.secret[0]) != ""
			})
			admin := tr.do("GET", c.path, tr.master, "", "Host", c.host)
			if admin.code != c.code || !strings.Contains(string(admin.body), c.secret[0]) {
				t.Fatalf("master key caller: %d %s, want the details", admin.code, admin.body)
			}
		})
	}
}
