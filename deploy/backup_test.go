package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// regionProc is a tandem region process started by a test.
type regionProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedWriter
	exited chan error
}

// writeApp writes a custom-handler app folder with one HTTP function. Its
// handler never runs: the test uses the admin API only.
func writeApp(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"host.json": `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`,
		"hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "function"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
		"handler": "#!/bin/sh\nexit 1\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startRegion runs 'tandem region' on data and waits until /healthz
// answers 200.
func startRegion(t *testing.T, bin, data string, apps ...string) *regionProc {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"region", "--name", "east", "--data", data, "--http", addr}
	for _, a := range apps {
		args = append(args, "--app", a)
	}
	return startDaemon(t, bin, "http://"+addr, args...)
}

// startDaemon runs bin with args and waits until url's /healthz answers
// 200 (the daemon's readiness).
func startDaemon(t *testing.T, bin, url string, args ...string) *regionProc {
	t.Helper()
	return startProc(t, bin, url, func(*regionProc) bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, args...)
}

// startProc runs bin with args and waits until ready says it is.
func startProc(t *testing.T, bin, url string, ready func(*regionProc) bool, args ...string) *regionProc {
	t.Helper()
	p := &regionProc{url: url, stderr: &lockedWriter{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.stderr
	p.cmd.Env = append(os.Environ(), "TANDEM_MASTER_KEY=")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(time.Minute)
	for !ready(p) {
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("tandem %s exited before it was ready: %v\n%s", args[0], err, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem %s not ready after a minute\n%s", args[0], p.stderr)
		}
	}
	return p
}

// lockedWriter keeps a process's output for a test to read while the
// process writes.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stop sends SIGTERM, as systemd and docker stop do, and waits for the
// exit within the region unit's TimeoutStopSec; a clean stop exits 0 (so
// Restart=on-failure does not restart it).
func (p *regionProc) stop(t *testing.T, within time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("tandem region after SIGTERM: %v (want exit 0)\n%s", err, p.stderr)
		}
	case <-time.After(within):
		t.Fatalf("tandem region still running %s after SIGTERM\n%s", within, p.stderr)
	}
}

// call sends an admin request with key and decodes a JSON answer into out
// (when not nil); it returns the status.
func (p *regionProc) call(t *testing.T, method, path, key, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, p.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-functions-key", key)
	if body != "" && strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

func (p *regionProc) mustCall(t *testing.T, method, path, key, body string, out any) {
	t.Helper()
	if code := p.call(t, method, path, key, body, out); code >= 300 {
		t.Fatalf("%s %s: status %d\n%s", method, path, code, p.stderr)
	}
}

func readKey(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// regionStopBudget is the region unit's TimeoutStopSec.
func regionStopBudget(t *testing.T) time.Duration {
	t.Helper()
	_, u := readUnit(t, units[0].file)
	d, err := time.ParseDuration(u.get("Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRegionKeyRotationBackupRestore does on a real region process what
// docs/operations.md tells an operator: rotate the master key through the
// admin API (the old key is refused, master.key is rewritten), stop the
// region with SIGTERM (exit 0 within the unit's stop timeout), back its
// data directory up with tar, lose it, and restore either the whole
// directory (keys, settings and queued messages come back) or only
// master.key into an empty one (the rebuild path: the key survives, the
// data does not).
func TestRegionKeyRotationBackupRestore(t *testing.T) {
	bin := tandemBin(t)
	root := t.TempDir()
	app := filepath.Join(root, "shop")
	writeApp(t, app)
	var (
		data   = filepath.Join(root, "lib", "region-east")
		backup = filepath.Join(root, "backup", "region-east.tar.gz")
	)
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}

	r := startRegion(t, bin, data, app)
	old := readKey(t, filepath.Join(data, "master.key"))
	var rotated struct{ Value string }
	// The guide's rotation: POST .../host/keys/_master with the old key.
	r.mustCall(t, "POST", "/admin/apps/shop/host/keys/_master", old, "", &rotated)
	if rotated.Value == "" || rotated.Value == old {
		t.Fatalf("rotation answered %q", rotated.Value)
	}
	if got := readKey(t, filepath.Join(data, "master.key")); got != rotated.Value {
		t.Errorf("master.key holds %.8s..., want the rotated key %.8s...", got, rotated.Value)
	}
	if code := r.call(t, "GET", "/admin/host/keys", old, "", nil); code != http.StatusUnauthorized {
		t.Errorf("the old master key after rotation: %d, want 401", code)
	}
	key := rotated.Value
	var fnKey struct{ Value string }
	r.mustCall(t, "POST", "/admin/apps/shop/functions/hello/keys/partner", key, "", &fnKey)
	r.mustCall(t, "PUT", "/admin/apps/shop/settings/GREETING", key, `{"value": "hello"}`, nil)
	r.mustCall(t, "POST", "/admin/apps/shop/queues/orders/messages", key, "order-1", nil)
	r.stop(t, regionStopBudget(t))

	// The guide's backup, then the disk is lost.
	sh(t, "tar", "-C", filepath.Dir(data), "-czf", backup, filepath.Base(data))
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		members  []string // what to extract from the backup; none: all of it
		wantData bool
	}{
		{"whole data directory", nil, true},
		{"master.key only", []string{"region-east/master.key"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lib := filepath.Join(t.TempDir(), "lib")
			if err := os.MkdirAll(lib, 0o700); err != nil {
				t.Fatal(err)
			}
			sh(t, "tar", append([]string{"-C", lib, "-xzf", backup}, c.members...)...)
			r := startRegion(t, bin, filepath.Join(lib, "region-east"), app)
			defer r.stop(t, regionStopBudget(t))
			var setting, fk struct{ Value string }
			var q struct{ Length int }
			gotSetting := r.call(t, "GET", "/admin/apps/shop/settings/GREETING", key, "", &setting) == http.StatusOK && setting.Value == "hello"
			gotKey := r.call(t, "GET", "/admin/apps/shop/functions/hello/keys/partner", key, "", &fk) == http.StatusOK && fk.Value == fnKey.Value
			if code := r.call(t, "GET", "/admin/apps/shop/queues/orders", key, "", &q); code != http.StatusOK && code != http.StatusNotFound {
				t.Errorf("queue length: status %d", code)
			}
			checks := []finding{
				{"the rotated master key", wantStatus(r.call(t, "GET", "/admin/host/keys", key, "", nil), http.StatusOK)},
				{"the key from before the rotation", wantStatus(r.call(t, "GET", "/admin/host/keys", old, "", nil), http.StatusUnauthorized)},
				{"the app setting", want(gotSetting == c.wantData, "present=%v, want %v", gotSetting, c.wantData)},
				{"the function key", want(gotKey == c.wantData, "present=%v, want %v", gotKey, c.wantData)},
				{"the queued message", want((q.Length == 1) == c.wantData, "queue length %d, want data=%v", q.Length, c.wantData)},
			}
			for _, ch := range checks {
				if ch.err != nil {
					t.Errorf("after restoring the %s: %s: %v", c.name, ch.what, ch.err)
				}
			}
		})
	}
}

func wantStatus(got, want int) error {
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}
