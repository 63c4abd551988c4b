package replicate

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLeafURLNeedsAListener(t *testing.T) {
	tests := []struct {
		name   string
		listen bool
		ok     bool
	}{
		{"with LeafListen", true, true},
		{"without", false, false},
	}
	for _, tt := range tests {
		r := startRegion(t, "east", t.TempDir(), tt.listen)
		url, err := LeafURL(r.b)
		if (err == nil) != tt.ok || tt.ok && !strings.HasPrefix(url, "nats://127.0.0.1:") {
			t.Errorf("%s: %q %v", tt.name, url, err)
		}
	}
}

func TestWaitLinkedTimesOutWithoutALink(t *testing.T) {
	east := startRegion(t, "east", t.TempDir(), true)
	lonely := startRegion(t, "west", t.TempDir(), false) // no LeafRemotes
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	if err := WaitLinked(ctx, lonely.b, "east"); err == nil {
		t.Fatal("linked without a leafnode")
	}
	url, err := LeafURL(east.b)
	if err != nil {
		t.Fatal(err)
	}
	west := startRegion(t, "west", t.TempDir(), false, url)
	waitLinked(t, east, west) // both directions over the one link
}

func TestAdminReplicationStatus(t *testing.T) {
	east, west := startPair(t)
	if _, err := newQueues(t, east.b, nil).Enqueue(testCtx(t), "app", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "caught up", func() bool { return caughtUp(m.Status(), 1) })
	mux := http.NewServeMux()
	m.RegisterAdmin(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })
	resp, err := http.Get("http://" + ln.Addr().String() + "/admin/replication")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !s.Ready || s.Primary != "east" || len(s.Mirrors) != 1 || s.Mirrors[0].Stream != "west_Q_app_orders" {
		t.Fatalf("GET /admin/replication: %d %+v", resp.StatusCode, s)
	}
}
