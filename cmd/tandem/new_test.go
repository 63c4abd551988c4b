package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/testbin"
)

// TestNewAppRunsAtOnce: issue 14 item 5. `tandem new NAME --lang L` (the
// binary, as a user runs it) makes an app a region serves as it is: the
// HTTP function answers and its queue output fires the queue-triggered
// function once.
func TestNewAppRunsAtOnce(t *testing.T) {
	bin := testbin.Build(t, "cmd/tandem")
	for _, tc := range []struct{ lang, runtime string }{{"python", "python3"}, {"node", "node"}, {"go", "go"}} {
		t.Run(tc.lang, func(t *testing.T) {
			if _, err := exec.LookPath(tc.runtime); err != nil {
				t.Skipf("%s is not installed (Debian package %s)", tc.runtime, map[string]string{"python3": "python3", "node": "nodejs", "go": "golang"}[tc.runtime])
			}
			parent := t.TempDir()
			out, err := exec.Command(bin, "new", "greeter", "--lang", tc.lang, "--dir", parent).CombinedOutput()
			if err != nil {
				t.Fatalf("tandem new: %v\n%s", err, out)
			}
			dir := filepath.Join(parent, "greeter")
			if tc.lang == "go" {
				build := exec.Command("go", "build", "-o", "handler", "./src")
				build.Dir = dir
				if out, err := build.CombinedOutput(); err != nil {
					t.Fatalf("go build: %v\n%s", err, out)
				}
			}
			east := &cliRegion{name: "east", data: t.TempDir(), apps: []region.AppSpec{{Dir: dir}}}
			east.start(t)
			code, body := getHost(t, "http://"+east.r.Addr()+"/api/hello/ada", "greeter.localhost")
			if code != http.StatusOK || body != "Hello, ada!" {
				t.Fatalf("GET /api/hello/ada: %d %q", code, body)
			}
			deadline := time.Now().Add(20 * time.Second)
			for east.r.Meter().Report().Apps["greeter"].Functions["worker"].Executions != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("the queued task never reached worker: %+v", east.r.Meter().Report().Apps["greeter"])
				}
				time.Sleep(20 * time.Millisecond) // polling interval
			}
		})
	}
}

// TestNewRefusesBadInput: a bad name, language or an existing folder is
// refused with a clear error, and nothing is overwritten.
func TestNewRefusesBadInput(t *testing.T) {
	parent := t.TempDir()
	if code, _ := tandem(t, "new", "taken", "--dir", parent); code != 0 {
		t.Fatalf("first tandem new: exit %d", code)
	}
	for _, args := range [][]string{{"new", "Bad_Name", "--dir", parent}, {"new", "x", "--lang", "cobol", "--dir", parent}, {"new"}} {
		if code, _ := tandem(t, args...); code != 2 {
			t.Errorf("tandem %v: exit %d, want 2", args, code)
		}
	}
	if code, _ := tandem(t, "new", "taken", "--dir", parent); code != 1 {
		t.Errorf("tandem new over an existing folder: exit %d, want 1", code)
	}
}

func getHost(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
