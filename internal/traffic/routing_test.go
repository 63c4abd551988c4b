package traffic

import (
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

func TestPriorityRoutingFollowsHealth(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	// A long lease: this test is about routing, not about moving the primary role.
	m := startManager(t, topologyFor(t, setup{tolerated: 1, rise: 2, lease: "1m", margin: "1s"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	for i := 0; i < 5; i++ {
		if code, from := get(t, m, "GET"); code != 200 || from != "east" {
			t.Fatalf("request %d: %d from %q, want east", i, code, from)
		}
	}
	east.healthy.Store(false)
	eventually(t, 5*time.Second, "east marked down", func() bool { return !m.endpointHealth("east").Up })
	if code, from := get(t, m, "GET"); code != 200 || from != "west" {
		t.Fatalf("after east failed: %d from %q", code, from)
	}
	if m.Status().Primary != "east" {
		t.Fatal("primary role moved although east's lease has not run out")
	}
	east.healthy.Store(true)
	eventually(t, 5*time.Second, "east back", func() bool { return m.endpointHealth("east").Up })
	if code, from := get(t, m, "GET"); code != 200 || from != "east" {
		t.Fatalf("after east recovered: %d from %q", code, from)
	}
}

// TestRefusedWriteGoesToThePrimaryItsProbesHaveDown: the probes have the
// primary down (as right after a promotion, until its next probes), so a
// write goes to the secondary, which refuses it because it sees the
// primary answer; the write then goes to the primary instead of failing.
// Reads stay with the healthy secondary.
func TestRefusedWriteGoesToThePrimaryItsProbesHaveDown(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	west.appMode.Store("refuse")
	m := startManager(t, topologyFor(t, setup{tolerated: 1, rise: 2, lease: "1m", margin: "1s"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	east.healthy.Store(false)
	eventually(t, 5*time.Second, "east marked down", func() bool { return !m.endpointHealth("east").Up })
	if code, from := get(t, m, "PUT"); code != 200 || from != "east" {
		t.Fatalf("PUT: %d from %q, want 200 from east (the primary) after west refused", code, from)
	}
	if code, from := get(t, m, "GET"); code != 200 || from != "west" {
		t.Fatalf("GET: %d from %q, want west (east's probes fail)", code, from)
	}
	east.stop()
	if code, from := get(t, m, "PUT"); code != 503 || from != "west" {
		t.Fatalf("PUT with east gone: %d from %q, want west's refusal", code, from)
	}
}

// TestRefusedWriteGoesToThePrimaryTheRegionsName: in a switch the regions
// already follow (south promoted) but this manager has not read yet (it
// still names east) while its probes have south down, a write both picked
// regions refuse, each naming south, goes to south, not to the primary the
// manager names (which refused it already).
func TestRefusedWriteGoesToThePrimaryTheRegionsName(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	south := newRegion(t, b, "south", clock.Real{})
	m := startManager(t, topologyFor(t, setup{tolerated: 1, rise: 2, lease: "1m", margin: "1s"}, east, west, south), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	south.healthy.Store(false)
	eventually(t, 5*time.Second, "south marked down", func() bool { return !m.endpointHealth("south").Up })
	for _, r := range []*region{east, west} {
		r.follows.Store("south")
		r.appMode.Store("refuse")
	}
	if code, from := get(t, m, "PUT"); code != 200 || from != "south" {
		t.Fatalf("PUT: %d from %q, want 200 from south, the primary east and west name", code, from)
	}
}

func TestWeightedRoutingDistribution(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{routing: "weighted", weights: []int{3, 1}}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	const n = 2000
	for i := 0; i < n; i++ {
		if code, _ := get(t, m, "GET"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	share := float64(east.arrivals.Load()) / n
	// Binomial(2000, 0.75): sd ~ 0.0097; 0.05 is over five standard deviations.
	if math.Abs(share-0.75) > 0.05 || east.arrivals.Load()+west.arrivals.Load() != n {
		t.Fatalf("east got %.3f of %d requests (east %d, west %d), want 0.75 +- 0.05", share, n, east.arrivals.Load(), west.arrivals.Load())
	}
}

func TestPerformanceRoutingPrefersLowLatency(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	east.delay = 30 * time.Millisecond // east has the better priority but answers slowly
	m := startManager(t, topologyFor(t, setup{routing: "performance", interval: "100ms", timeout: "90ms"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "both probed twice", func() bool {
		return m.endpointHealth("east").Probes >= 2 && m.endpointHealth("west").Probes >= 2
	})
	for i := 0; i < 20; i++ {
		if code, from := get(t, m, "GET"); code != 200 || from != "west" {
			t.Fatalf("request %d: %d from %q, want the faster west (latency east %v west %v)", i, code, from,
				m.endpointHealth("east").Latency, m.endpointHealth("west").Latency)
		}
	}
	// The retry path still reaches the slower region when the faster one fails.
	west.stop()
	if code, from := get(t, m, "GET"); code != 200 || from != "east" {
		t.Fatalf("with west gone: %d from %q", code, from)
	}
}

func TestAllDownAnswers503(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	east.healthy.Store(false)
	west.healthy.Store(false)
	m := startManager(t, topologyFor(t, setup{}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	resp, err := http.Get("http://" + m.HTTPAddr() + "/app")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := []string{"no healthy endpoint", "every endpoint is down", "east: probe: status 503", "west: probe: status 503"}
	for _, w := range want {
		if resp.StatusCode != 503 || !strings.Contains(string(body), w) {
			t.Fatalf("%d %s: want 503 containing %q", resp.StatusCode, body, w)
		}
	}
	if east.arrivals.Load()+west.arrivals.Load() != 0 {
		t.Fatal("a request reached a region marked down")
	}
}

func TestReloadKeepsTrafficFlowing(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{lease: "1m", margin: "1s"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	var failed, sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get("http://" + m.HTTPAddr() + "/app")
				sent.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	eventually(t, 5*time.Second, "load running", func() bool { return sent.Load() > 50 })
	// Disable east and switch to weighted: all traffic must move to west.
	next := topologyFor(t, setup{routing: "weighted", lease: "1m", margin: "1s",
		extra: ""}, east, west)
	next.Regions[0].Enabled = false
	next.Primary = "west"
	for i := 0; i < 3; i++ {
		if err := m.Reload(next); err != nil {
			t.Fatal(err)
		}
	}
	before := west.arrivals.Load()
	eventually(t, 5*time.Second, "traffic on west", func() bool { return west.arrivals.Load() > before+50 })
	eastNow := east.arrivals.Load()
	eventually(t, 5*time.Second, "more traffic", func() bool { return sent.Load() > 300 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across reloads", failed.Load(), sent.Load())
	}
	if east.arrivals.Load() != eastNow {
		t.Fatal("disabled east still gets traffic")
	}
	if st := m.Status(); st.Routing != "weighted" || st.Endpoints[0].Reason != "disabled" {
		t.Fatalf("status after reload: %+v", st)
	}
}
