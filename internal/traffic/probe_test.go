package traffic

import (
	"net/http"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

// startFake starts a manager on a fake clock with one prober per region.
func startFake(t *testing.T, s setup, regs ...*region) (*Manager, *fakeStepper) {
	t.Helper()
	clk := regs[0].clk
	m := startManager(t, topologyFor(t, s, regs...), t.TempDir(), clk)
	f := &fakeStepper{t: t, clk: clk, m: m, timers: len(regs) + 1}
	f.quiet()
	return m, f
}

func TestProbeThresholdsAndRise(t *testing.T) {
	clk := clock.NewFake(t0)
	b := startBroker(t)
	east, west := newFakeRegion(t, b, "east", clk), newFakeRegion(t, b, "west", clk)
	m, f := startFake(t, setup{tolerated: 2, rise: 3, lease: "10s"}, east, west)
	steps := []struct {
		healthy bool
		wantUp  bool
		why     string
	}{
		{false, true, "1st failure tolerated"},
		{false, true, "2nd failure tolerated"},
		{false, false, "3rd failure: more than toleratedFailures"},
		{true, false, "1st success of rise 3"},
		{true, false, "2nd success of rise 3"},
		{false, false, "a failure resets the rise count"},
		{true, false, "1st success again"},
		{true, false, "2nd success again"},
		{true, true, "3rd success: up"},
		{false, true, "failures count again from zero"},
	}
	if !m.endpointHealth("east").Up {
		t.Fatal("east not up after its first successful probe")
	}
	for i, s := range steps {
		east.healthy.Store(s.healthy)
		before := m.endpointHealth("east").Probes
		f.step(100 * time.Millisecond)
		h := m.endpointHealth("east")
		if h.Probes != before+1 {
			t.Fatalf("step %d: %d probes ran, want exactly 1 per interval", i, h.Probes-before)
		}
		if h.Up != s.wantUp {
			t.Fatalf("step %d (%s): up=%v, want %v (reason %q)", i, s.why, h.Up, s.wantUp, h.Reason)
		}
	}
}

func TestProbeStatusRangesAndHeaders(t *testing.T) {
	clk := clock.NewFake(t0)
	b := startBroker(t)
	east, west := newFakeRegion(t, b, "east", clk), newFakeRegion(t, b, "west", clk)
	m, f := startFake(t, setup{expectedSts: `["200-299", "418"]`, lease: "10s"}, east, west)
	cases := []struct {
		code   int
		wantUp bool
	}{
		{200, true}, {204, true}, {418, true}, {404, false}, {302, false}, {503, false}, {299, true}, {300, false}, {500, false},
	}
	for _, c := range cases {
		east.code.Store(int32(c.code))
		f.step(100 * time.Millisecond)
		if h := m.endpointHealth("east"); h.Up != c.wantUp {
			t.Errorf("status %d: up=%v, want %v (%s)", c.code, h.Up, c.wantUp, h.Reason)
		}
	}
	if got := east.probeHdr.Load(); got != "tandem|probe.local" {
		t.Fatalf("probe headers seen by the region: %q, want X-Probe tandem and Host probe.local", got)
	}
}

func TestPassiveMarkingThenProbesBringBack(t *testing.T) {
	clk := clock.NewFake(t0)
	b := startBroker(t)
	east, west := newFakeRegion(t, b, "east", clk), newFakeRegion(t, b, "west", clk)
	m, f := startFake(t, setup{passive: 2, rise: 2, lease: "10s"}, east, west)
	east.appMode.Store("die") // the app dies on every request; /healthz still answers
	for i := 0; i < 2; i++ {
		if code, from := get(t, m, "GET"); code != 200 || from != "west" {
			t.Fatalf("request %d: %d from %q, want a retry answered by west", i, code, from)
		}
	}
	if h := m.endpointHealth("east"); h.Up || h.Reason != "passive: no-response" {
		t.Fatalf("after 2 live failures east is up=%v (%q), want marked down at once", h.Up, h.Reason)
	}
	seen := east.arrivals.Load()
	for i := 0; i < 5; i++ {
		if code, from := get(t, m, "GET"); code != 200 || from != "west" {
			t.Fatalf("while east is down: %d from %q", code, from)
		}
	}
	if east.arrivals.Load() != seen {
		t.Fatal("requests still went to east after it was marked down")
	}
	east.appMode.Store("ok")
	f.step(100 * time.Millisecond)
	if m.endpointHealth("east").Up {
		t.Fatal("one probe brought east back; rise is 2")
	}
	f.step(100 * time.Millisecond)
	if !m.endpointHealth("east").Up {
		t.Fatal("two good probes did not bring east back")
	}
	if code, from := get(t, m, "GET"); code != 200 || from != "east" {
		t.Fatalf("after recovery: %d from %q", code, from)
	}
}

func TestAdminAPIAuthAndStatus(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "east primary", func() bool { return m.Status().Epoch == 1 })
	_, _ = get(t, m, "GET")
	cases := []struct {
		path, key string
		code      int
	}{
		{"/healthz", "", 200},
		{"/status", "", 401},
		{"/status", "wrong", 401},
		{"/status", "traffic-admin-key", 200},
		{"/metrics", "", 401},
		{"/metrics", "traffic-admin-key", 200},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", "http://"+m.AdminAddr()+c.path, nil)
		if c.key != "" {
			req.Header.Set("x-functions-key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != c.code {
			t.Errorf("%s key %q: %d, want %d", c.path, c.key, resp.StatusCode, c.code)
		}
		if c.path == "/metrics" && c.code == 200 {
			for _, series := range []string{"tandem_traffic_requests_total", "tandem_traffic_endpoint_up", "tandem_traffic_epoch 1", `tandem_traffic_primary{endpoint="east"} 1`} {
				if !contains(body, series) {
					t.Errorf("metrics lack %s", series)
				}
			}
		}
		if c.path == "/status" && c.code == 200 {
			for _, field := range []string{`"primary": "east"`, `"epoch": 1`, `"probeLatencyMs"`, `"kind": "initial"`, `"role": "secondary"`, `"leaseUntil"`} {
				if !contains(body, field) {
					t.Errorf("status lacks %s:\n%s", field, body)
				}
			}
		}
	}
}
