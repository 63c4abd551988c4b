package traffic

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/faultnet"
)

// controlCluster is three control nodes; each manager reaches them through
// links of its own, so one manager can be cut off from the quorum while
// it still reaches the regions.
type controlCluster struct {
	t     *testing.T
	nodes []*control.Node
}

func startControlCluster(t *testing.T, n int) *controlCluster {
	t.Helper()
	var routes, addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, l.Addr().String())
		routes = append(routes, "nats://"+l.Addr().String())
		l.Close()
	}
	cc := &controlCluster{t: t}
	for i := range n {
		o := control.NodeOptions{Name: fmt.Sprintf("c%d", i+1), Dir: t.TempDir(), Listen: "127.0.0.1:0", Logger: testLogger(t)}
		if n > 1 {
			o.ClusterListen, o.Routes = addrs[i], routes
		}
		node := control.NewNode(o)
		if err := node.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.Shutdown)
		cc.nodes = append(cc.nodes, node)
	}
	eventually(t, 30*time.Second, "control cluster ready", func() bool {
		for _, n := range cc.nodes {
			if !n.Ready() {
				return false
			}
		}
		return true
	})
	return cc
}

// links returns fresh links to every node and their URL list.
func (cc *controlCluster) links() ([]*faultnet.Link, string) {
	var links []*faultnet.Link
	var urls []string
	for _, n := range cc.nodes {
		l, err := faultnet.Listen("127.0.0.1:0", strings.TrimPrefix(n.ClientURL(), "nats://"), testLogger(cc.t))
		if err != nil {
			cc.t.Fatal(err)
		}
		cc.t.Cleanup(func() { _ = l.Close() })
		links = append(links, l)
		urls = append(urls, "nats://"+l.Addr())
	}
	return links, strings.Join(urls, ",")
}

func startManagerOn(t *testing.T, o Options) *Manager {
	t.Helper()
	o.Clock, o.Logger, o.DataDir = clock.Real{}, testLogger(t), t.TempDir()
	m := New(o)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// leaseWatch checks, every few milliseconds, that the region holds a live
// primary lease at one epoch, and records the first lapse.
func leaseWatch(t *testing.T, r *region, epoch uint64) (stop func() string) {
	done := make(chan struct{})
	var lapse string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond): // sampling interval
			}
			s := r.roles.State()
			if now := time.Now(); lapse == "" && (s.Epoch != epoch || !s.ActiveAt(now)) {
				lapse = fmt.Sprintf("at %s: %s, lease until %s", now.Format("15:04:05.000"), roleString(s), s.LeaseUntil.Format("15:04:05.000"))
			}
		}
	}()
	return func() string { close(done); wg.Wait(); return lapse }
}

// TestManagersShareOneDecider (lease 2 s: the next decider renews at most
// 3/4 of a lease after the last renewal, leaving 500 ms): two traffic managers on a three-node
// control cluster. Exactly one decides; both route to the primary. The
// decider cut off from the quorum stops deciding at once and the other
// takes over before the primary's lease runs out: the primary keeps its
// epoch and never loses its lease. A decider that stops hands over at once.
func TestManagersShareOneDecider(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	top := topologyFor(t, setup{lease: "2s", margin: "100ms"}, east, west)
	cc := startControlCluster(t, 3)
	links1, urls1 := cc.links()
	_, urls2 := cc.links()
	m1 := startManagerOn(t, Options{Topology: top, Control: urls1, ID: "tm1"})
	eventually(t, 10*time.Second, "tm1 decides and east is primary@1", func() bool {
		return m1.Deciding() && roleString(east.roles.State()) == "primary@1"
	})
	m2 := startManagerOn(t, Options{Topology: top, Control: urls2, ID: "tm2"})
	eventually(t, 10*time.Second, "tm2 follows, its probes done", func() bool {
		return m2.Status().Epoch == 1 && m2.Status().Decider == "tm1" && m2.Ready() && m2.endpointHealth("east").Up
	})
	for _, m := range []*Manager{m1, m2} {
		if code, from := get(t, m, "GET"); code != 200 || from != "east" {
			t.Fatalf("%s routes to %q (%d)", m.ID(), from, code)
		}
	}
	st := m2.StatusWithControl(context.Background())
	if len(st.Managers) != 2 || st.Control == nil || st.Control.Replicas != 3 || len(st.Control.Peers) != 3 {
		t.Fatalf("status lists managers %+v and control %+v", st.Managers, st.Control)
	}

	stop := leaseWatch(t, east, 1)
	for _, l := range links1 {
		l.Cut() // tm1 still reaches the regions, not the quorum
	}
	eventually(t, 2*time.Second, "tm1 stops deciding", func() bool { return !m1.Deciding() }) // within a tick (lease/4)
	eventually(t, 5*time.Second, "tm2 decides", m2.Deciding)
	renewed := east.roles.State().LeaseUntil
	eventually(t, 5*time.Second, "tm2 renews east's lease", func() bool { return east.roles.State().LeaseUntil.After(renewed) })
	if code, from := get(t, m1, "GET"); code != 200 || from != "east" {
		t.Fatalf("tm1, cut from the quorum, routes on the last known state: %q (%d)", from, code)
	}
	for _, l := range links1 {
		l.Heal()
	}
	eventually(t, 5*time.Second, "tm1 sees tm2 decide", func() bool { return m1.Status().Decider == "tm2" && m1.Status().ControlError == "" })
	if m1.Deciding() {
		t.Fatal("a healed manager took the lock back from a live decider")
	}

	if err := m2.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "tm1 decides again after tm2 stopped", m1.Deciding)
	renewed = east.roles.State().LeaseUntil
	eventually(t, 5*time.Second, "tm1 renews east's lease", func() bool { return east.roles.State().LeaseUntil.After(renewed) })
	if lapse := stop(); lapse != "" {
		t.Fatalf("east's lease lapsed or its epoch changed while deciders changed: %s", lapse)
	}
	if st := m1.Status(); st.Epoch != 1 || len(st.Failovers) != 1 {
		t.Fatalf("deciders changing caused failovers: epoch %d, %+v", st.Epoch, st.Failovers)
	}
}

// TestFailoverSentToFollowerReachesDecider: POST /failover sent to a
// manager that does not decide is redirected (307) to the decider, which
// makes the switch.
func TestFailoverSentToFollowerReachesDecider(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	top := topologyFor(t, setup{lease: "1s", margin: "100ms"}, east, west)
	cc := startControlCluster(t, 1)
	_, urls := cc.links()
	m1 := startManagerOn(t, Options{Topology: top, Control: urls, ID: "tm1"})
	eventually(t, 10*time.Second, "tm1 decides", func() bool { return m1.Deciding() && m1.Status().Epoch == 1 })
	m2 := startManagerOn(t, Options{Topology: top, Control: urls, ID: "tm2"})
	eventually(t, 10*time.Second, "tm2 knows tm1's admin address", func() bool {
		st := m2.StatusWithControl(context.Background())
		return st.Decider == "tm1" && len(st.Managers) == 2
	})
	req, _ := http.NewRequest(http.MethodPost, "http://"+m2.AdminAddr()+"/failover", strings.NewReader(`{"to":"west","planned":true}`))
	req.Header.Set("x-functions-key", "traffic-admin-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"primary": "west"`) {
		t.Fatalf("failover through the follower: %d %s", resp.StatusCode, body)
	}
	if fo := lastFailover(t, m1); fo.Decider != "tm1" || fo.To != "west" {
		t.Fatalf("the switch was not made by the decider: %+v", fo)
	}
	eventually(t, 5*time.Second, "west primary@2", func() bool { return roleString(west.roles.State()) == "primary@2" })
}
