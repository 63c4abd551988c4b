package region

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncLog is a region log a test can read while the region writes it
// (as a whole, where logBuffer finds lines).
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func withLog(b *syncLog) func(*Options) {
	return func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(b, nil)) }
}

// TestConformanceIgnoredThingsLoggedOnce: issue 12 item 8. What Tandem
// ignores is said once when the app loads.
func TestConformanceIgnoredThingsLoggedOnce(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		if l.name != "go" {
			t.Skip("load warnings do not depend on the handler's language")
		}
		app, _ := conformanceApp(t, l, "olderapp", helloFunction)
		dir := app.write(t)
		host := `{"version":"2.0","logging":{"logLevel":{"default":"Information"}},"managedDependency":{"enabled":true},"customHandler":{"description":{"defaultExecutablePath":"` + l.exe + `"}}}`
		if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(host), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "proxies.json"), []byte(`{"proxies":{}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		var log syncLog
		startRegion(t, func(o *Options) {
			withLog(&log)(o)
			o.Apps = []AppSpec{{Name: "olderapp", Dir: dir}}
		})
		for _, want := range []string{"proxies.json is ignored", "host.json: sections Tandem does not apply: logging, managedDependency"} {
			if n := strings.Count(log.String(), want); n != 1 {
				t.Errorf("log says %q %d times, want once:\n%s", want, n, log.String())
			}
		}
	})
}

// TestConformanceSlowStartExplained: issue 11 item 6, end to end. A
// handler that takes longer to start than functionTimeout: the first
// request fails with 503 and the log says the handler was still starting
// (not "function timed out"); the handler then serves instead of being
// stopped as idle at once.
func TestConformanceSlowStartExplained(t *testing.T) {
	var log syncLog
	app := testApp{name: "slow", timeout: "00:00:00.2", settings: map[string]string{"ECHO_START_DELAY_MS": "700"},
		functions: map[string]string{"hello": httpFn("anonymous", "")}}
	tr := startRegion(t, withLog(&log), app)
	if r := tr.do("GET", "/api/hello", "", ""); r.code != 503 {
		t.Fatalf("first request: %d %s, want 503", r.code, r.body)
	}
	if !strings.Contains(log.String(), "the handler was still starting") {
		t.Fatalf("the log does not say why the request failed:\n%s", log.String())
	}
	eventually(t, "the slow handler to serve", func() bool { return tr.do("GET", "/api/hello", "", "").code == 200 })
	if strings.Contains(log.String(), "handler idle; stopping") {
		t.Fatalf("the handler was stopped as idle:\n%s", log.String())
	}
}
