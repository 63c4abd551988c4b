package region

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/testbin"
)

// testApp describes an app folder a test writes: host.json options and
// function.json bodies by function name.
type testApp struct {
	name      string
	forward   bool
	timeout   string // functionTimeout
	prefix    *string
	settings  map[string]string
	functions map[string]string
	handler   string // executable; default the echo test handler
	args      []string
	queues    map[string]any // host.json extensions.queues
}

func (a testApp) write(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), a.name)
	exe := a.handler
	if exe == "" {
		exe = testbin.Build(t, "testdata/handlers/echo")
	}
	host := map[string]any{
		"version":       "2.0",
		"customHandler": map[string]any{"description": map[string]any{"defaultExecutablePath": exe, "arguments": a.args}, "enableForwardingHttpRequest": a.forward},
	}
	if a.timeout != "" {
		host["functionTimeout"] = a.timeout
	}
	ext := map[string]any{}
	if a.prefix != nil {
		ext["http"] = map[string]any{"routePrefix": *a.prefix}
	}
	if a.queues != nil {
		ext["queues"] = a.queues
	}
	host["extensions"] = ext
	writeJSONFile(t, filepath.Join(dir, "host.json"), host)
	writeJSONFile(t, filepath.Join(dir, "local.settings.json"), map[string]any{"IsEncrypted": false, "Values": a.settings})
	for name, body := range a.functions {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "function.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// httpFn is a function.json with an httpTrigger and an http output.
func httpFn(auth, route string, methods ...string) string {
	trig := map[string]any{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": auth}
	if route != "" {
		trig["route"] = route
	}
	if len(methods) > 0 {
		trig["methods"] = methods
	}
	b, _ := json.Marshal(map[string]any{"bindings": []any{trig, map[string]any{"type": "http", "direction": "out", "name": "res"}}})
	return string(b)
}

// testRegion is a started region with a client.
type testRegion struct {
	*Region
	t      *testing.T
	master string
}

const testMaster = "test-master-key-0123456789abcdefghijklmnopqrstuvwxyzABCD"

func startRegion(t *testing.T, mut func(*Options), apps ...testApp) *testRegion {
	t.Helper()
	opts := Options{Name: "east", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), MasterKeyEnv: testMaster,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		opts.Logger = slog.Default()
	}
	for _, a := range apps {
		opts.Apps = append(opts.Apps, AppSpec{Name: a.name, Dir: a.write(t)})
	}
	if mut != nil {
		mut(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		_ = r.Shutdown(ctx)
	})
	return &testRegion{Region: r, t: t, master: testMaster}
}

// response is a finished HTTP exchange.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; key, when set, goes in x-functions-key.
func (tr *testRegion) do(method, path, key, body string, hdr ...string) response {
	tr.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tr.URL()+path, rd)
	if err != nil {
		tr.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-functions-key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tr.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func (tr *testRegion) admin(method, path, body string) response {
	tr.t.Helper()
	return tr.do(method, path, tr.master, body)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func canon(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	_ = json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

// exampleApp copies examples/<name> into a temp folder with its handler
// built there, so tests run the example exactly as a user would.
func exampleApp(t *testing.T, name string, settings map[string]string) string {
	t.Helper()
	src := filepath.Join(testbin.ModuleRoot(), "examples", name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	bin := testbin.Build(t, "examples/"+name+"/src")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "handler"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if settings != nil {
		var ls map[string]any
		b, _ := os.ReadFile(filepath.Join(dst, "local.settings.json"))
		_ = json.Unmarshal(b, &ls)
		values := ls["Values"].(map[string]any)
		for k, v := range settings {
			values[k] = v
		}
		writeJSONFile(t, filepath.Join(dst, "local.settings.json"), ls)
	}
	return dst
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
