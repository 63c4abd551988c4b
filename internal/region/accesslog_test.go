package region

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log sink safe for the region's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccessLogLinePerInvocation: issue 14 item 4. Every invocation logs
// one info line with app, function, trigger, status, duration and the
// invocation id the caller got; --access-log=false turns it off.
func TestAccessLogLinePerInvocation(t *testing.T) {
	for _, off := range []bool{false, true} {
		var logs lockedBuffer
		tr := startRegion(t, func(o *Options) {
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			o.NoAccessLog = off
		}, payloadApp())
		resp := tr.do("GET", "/api/items/7/x", "", "")
		id := resp.header.Get("X-Azure-Functions-Invocationid")
		if resp.code != 200 || id == "" {
			t.Fatalf("GET: %d, invocation id %q", resp.code, id)
		}
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "msg=invocation ") && strings.Contains(l, "invocationId="+id) {
				line = l
			}
		}
		switch {
		case off && line != "":
			t.Fatalf("an access line with the access log off: %s", line)
		case !off && line == "":
			t.Fatalf("no access line for invocation %s in:\n%s", id, logs.String())
		case !off:
			for _, want := range []string{"level=INFO", "app=shop", "function=items", "trigger=httpTrigger", "status=200", "duration="} {
				if !strings.Contains(line, want) {
					t.Fatalf("access line lacks %s: %s", want, line)
				}
			}
		}
	}
}
