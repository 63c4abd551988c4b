package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/role"
)

// roleRegion serves /healthz and the real /admin/role of a role.Manager
// behind a master-key check, as a region does.
func roleRegion(t *testing.T, b *broker.Broker, name, key string) (*role.Manager, string) {
	t.Helper()
	m := role.New(role.Options{Region: name, JS: b.JetStream(), Bucket: broker.Name(name, "role"), Initial: role.State{Role: role.Secondary}})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	admin := http.NewServeMux()
	m.RegisterAdmin(admin)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
			_, _ = io.WriteString(w, `{"region":"`+name+`"}`)
		case subtle.ConstantTimeCompare([]byte(r.Header.Get("x-functions-key")), []byte(key)) != 1:
			http.Error(w, `{"error":"master key required"}`, http.StatusUnauthorized)
		default:
			admin.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return m, srv.URL
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeTrafficConfig(t *testing.T, path, routing, admin, eastURL, westURL string) {
	t.Helper()
	cfg := fmt.Sprintf(`regions:
  - {name: east, proxyURL: %q, priority: 1, adminKeyEnv: TEST_EAST_KEY}
  - {name: west, proxyURL: %q, priority: 2, adminKeyEnv: TEST_WEST_KEY}
traffic:
  listen: {http: "127.0.0.1:0", admin: %q}
  adminKeyEnv: TANDEM_TRAFFIC_KEY
  profile: {name: app.tandem.local}
  routing: %s
  probes: {interval: 100ms, timeout: 80ms, toleratedFailures: 0, rise: 1}
  lease: 600ms
  leaseMargin: 100ms
`, eastURL, westURL, admin, routing)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func statusBody(t *testing.T, admin string) string {
	req, _ := http.NewRequest("GET", "http://"+admin+"/status", nil)
	req.Header.Set("x-functions-key", "traffic-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func TestTrafficAndFailoverVerbs(t *testing.T) {
	t.Setenv("TEST_EAST_KEY", "east-key")
	t.Setenv("TEST_WEST_KEY", "west-key")
	t.Setenv("TANDEM_TRAFFIC_KEY", "traffic-key")
	b, err := broker.Start(context.Background(), broker.Options{Region: "regions", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	east, eastURL := roleRegion(t, b, "east", "east-key")
	west, westURL := roleRegion(t, b, "west", "west-key")
	dir := t.TempDir()
	config, admin := filepath.Join(dir, "topology.yaml"), freeAddr(t)
	writeTrafficConfig(t, config, "priority", admin, eastURL, westURL)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runTraffic(ctx, []string{"--config", config, "--data", filepath.Join(dir, "data")}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tandem traffic: %v", err)
		}
	}()
	waitFor(t, "east primary at epoch 1", func() bool { s := east.State(); return s.Role == role.Primary && s.Epoch == 1 })

	// SIGHUP reloads the file.
	writeTrafficConfig(t, config, "weighted", admin, eastURL, westURL)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "routing reloaded", func() bool { return strings.Contains(statusBody(t, admin), `"routing": "weighted"`) })

	var out bytes.Buffer
	failoverStdout = &out
	t.Cleanup(func() { failoverStdout = os.Stdout })
	if err := runFailover(context.Background(), []string{"--to", "west", "--planned", "--traffic", "http://" + admin}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "west is now the primary at epoch 2 (planned failover from east)\n" {
		t.Fatalf("printed %q", got)
	}
	if s := west.State(); s.Role != role.Primary || s.Epoch != 2 {
		t.Fatalf("west is %s@%d", s.Role, s.Epoch)
	}
	err = runFailover(context.Background(), []string{"--to", "north", "--traffic", "http://" + admin})
	if err == nil || !strings.Contains(err.Error(), "no such region") {
		t.Fatalf("unknown region: %v", err)
	}
	err = runFailover(context.Background(), []string{"--to", "east", "--traffic", "http://" + admin, "--key", "wrong"})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestFailoverVerbUsage(t *testing.T) {
	t.Setenv("TANDEM_TRAFFIC_KEY", "")
	cases := [][]string{
		{"--traffic", "http://127.0.0.1:1", "--key", "k"},
		{"--to", "west", "--key", "k"},
		{"--to", "west", "--traffic", "http://127.0.0.1:1"},
		{"--to", "west", "--traffic", "not a url", "--key", "k"},
	}
	for _, args := range cases {
		if err := runFailover(context.Background(), args); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := runTraffic(context.Background(), nil); !errors.Is(err, errUsage) {
		t.Errorf("traffic without --config: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("regions: []\n"), 0o600)
	if err := runTraffic(context.Background(), []string{"--config", bad}); err == nil || !strings.Contains(err.Error(), "regions") {
		t.Errorf("invalid config: %v", err)
	}
}
