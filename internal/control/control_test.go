package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// startCluster starts n control nodes routed to each other and returns
// them and the client URL list.
func startCluster(t *testing.T, n int) ([]*Node, string) {
	t.Helper()
	var routes, clusterAddrs []string
	for range n {
		addr := freeAddr(t)
		clusterAddrs = append(clusterAddrs, addr)
		routes = append(routes, "nats://"+addr)
	}
	var nodes []*Node
	var urls []string
	for i := range n {
		node := NewNode(NodeOptions{Name: fmt.Sprintf("c%d", i+1), Dir: t.TempDir(), Listen: "127.0.0.1:0",
			ClusterListen: clusterAddrs[i], Routes: routes})
		if n == 1 {
			node.opts.ClusterListen, node.opts.Routes = "", nil
		}
		if err := node.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.Shutdown)
		nodes = append(nodes, node)
		urls = append(urls, node.ClientURL())
	}
	eventually(t, 30*time.Second, "every control node ready", func() bool {
		for _, n := range nodes {
			if !n.Ready() {
				return false
			}
		}
		return true
	})
	return nodes, strings.Join(urls, ",")
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

func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func openStore(t *testing.T, urls string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, StoreOptions{URLs: urls, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestCompareAndSetOneWinner: two deciders writing the next epoch at the
// same revision: exactly one lands; the loser gets ErrConflict and rereads.
func TestCompareAndSetOneWinner(t *testing.T) {
	_, urls := startCluster(t, 3)
	a, b := openStore(t, urls), openStore(t, urls)
	ctx := context.Background()
	if _, _, found, err := a.Role(ctx); err != nil || found {
		t.Fatalf("fresh bucket: found %v, err %v", found, err)
	}
	rev, err := a.SetRole(ctx, Role{Primary: "east", Epoch: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetRole(ctx, Role{Primary: "west", Epoch: 1}, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create of epoch 1: %v, want ErrConflict", err)
	}
	if _, err := a.SetRole(ctx, Role{Primary: "west", Epoch: 2}, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetRole(ctx, Role{Primary: "east", Epoch: 2}, rev); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale write of epoch 2: %v, want ErrConflict", err)
	}
	r, _, _, err := b.Role(ctx)
	if err != nil || r.Primary != "west" || r.Epoch != 2 {
		t.Fatalf("role after the race: %+v, %v", r, err)
	}
	if h := a.Health(ctx); h.Replicas != 3 || h.Leader == "" || len(h.Peers) != 3 {
		t.Fatalf("health of an R3 bucket: %+v", h)
	}
}

// TestCampaignTakeover: the holder renews; a contender takes the lock
// only after seeing it unchanged for the TTL by its own clock; the old
// holder then loses it; a released lock is taken at once.
func TestCampaignTakeover(t *testing.T) {
	_, urls := startCluster(t, 1)
	s := openStore(t, urls)
	ctx := context.Background()
	ttl := time.Second
	a, b := s.NewCampaign("tm1", ttl), s.NewCampaign("tm2", ttl)
	t0 := time.Unix(1000, 0)
	steps := []struct {
		c      *Campaign
		at     time.Duration
		holds  bool
		holder string
	}{
		{a, 0, true, "tm1"},
		{b, 100 * time.Millisecond, false, "tm1"},
		{a, 300 * time.Millisecond, true, "tm1"},   // renewal: a new revision
		{b, 1050 * time.Millisecond, false, "tm1"}, // first sight of the renewal restarts b's count
		{b, 2000 * time.Millisecond, false, "tm1"}, // 950 ms unchanged: not yet
		{b, 2100 * time.Millisecond, true, "tm2"},  // 1050 ms unchanged: taken
		{a, 2200 * time.Millisecond, false, "tm2"}, // the old holder learns it lost
		{a, 2300 * time.Millisecond, false, "tm2"},
		{b, 2400 * time.Millisecond, true, "tm2"},
	}
	for i, st := range steps {
		holds, d, err := st.c.Try(ctx, t0.Add(st.at))
		if err != nil || holds != st.holds || d.ID != st.holder {
			t.Fatalf("step %d (%s at %s): holds %v holder %q err %v; want %v %q", i, st.c.id, st.at, holds, d.ID, err, st.holds, st.holder)
		}
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if holds, _, err := a.Try(ctx, t0.Add(2500*time.Millisecond)); err != nil || !holds {
		t.Fatalf("after release: holds %v, err %v", holds, err)
	}
}

// TestSurvivesLossOfOneNode: with one of three nodes gone, reads and
// compare-and-set writes go on.
func TestSurvivesLossOfOneNode(t *testing.T) {
	nodes, urls := startCluster(t, 3)
	s := openStore(t, urls)
	ctx := context.Background()
	rev, err := s.SetRole(ctx, Role{Primary: "east", Epoch: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	nodes[0].Shutdown()
	var r Role
	eventually(t, 20*time.Second, "a write after losing a node", func() bool {
		next, err := s.SetRole(ctx, Role{Primary: "east", Epoch: 1, LeaseUntil: time.Unix(5, 0)}, rev)
		if err != nil { // a timed-out write may still have landed: reread
			if _, cur, _, rerr := s.Role(ctx); rerr == nil {
				rev = cur
			}
			return false
		}
		rev = next
		return true
	})
	r, _, _, err = s.Role(ctx)
	if err != nil || !r.LeaseUntil.Equal(time.Unix(5, 0)) {
		t.Fatalf("read after losing a node: %+v, %v", r, err)
	}
}

// TestDrillReportsKept: the newest DrillsKept reports are kept, newest first.
func TestDrillReportsKept(t *testing.T) {
	_, urls := startCluster(t, 1)
	s := openStore(t, urls)
	ctx := context.Background()
	for i := range DrillsKept + 3 {
		if err := s.PutDrill(ctx, fmt.Sprintf("d%03d", i), []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Drills(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != DrillsKept || string(got[0]) != fmt.Sprintf(`{"n":%d}`, DrillsKept+2) || string(got[DrillsKept-1]) != `{"n":3}` {
		t.Fatalf("kept %d reports, first %s", len(got), got[0])
	}
	if err := s.PutDrill(ctx, "bad id!", nil); err == nil {
		t.Fatal("an id with spaces was accepted")
	}
}

// TestNodeSaysWhenItsClusterPortIsTaken: nats-server would exit on a
// cluster port in use; a node reports it (Err) instead of running on
// without routes, so `tandem control` exits and the harness picks anew.
func TestNodeSaysWhenItsClusterPortIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	n := NewNode(NodeOptions{Name: "c1", Dir: t.TempDir(), Listen: "127.0.0.1:0", ClusterListen: busy.Addr().String(),
		Routes: []string{"nats://" + busy.Addr().String()}})
	err = n.Start(context.Background())
	defer n.Shutdown()
	if err == nil {
		eventually(t, 10*time.Second, "the node to report its port in use", func() bool { return n.Err() != nil })
		err = n.Err()
	}
	if !strings.Contains(err.Error(), "address already in use") || n.Ready() {
		t.Fatalf("a cluster port in use: err %v, ready %v", err, n.Ready())
	}
}
