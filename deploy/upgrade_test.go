package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeHelloApp writes an app whose one function, GET /api/hello/{name},
// is served by the tandem binary's own example handler (as tandem up
// serves it), so the test needs no compiler.
func writeHelloApp(t *testing.T, dir, bin string) {
	t.Helper()
	host := map[string]any{
		"version": "2.0",
		"customHandler": map[string]any{
			"description":                 map[string]any{"defaultExecutablePath": bin, "arguments": []string{"__example", "hello-go"}},
			"enableForwardingHttpRequest": true,
		},
		"extensions": map[string]any{"http": map[string]any{"routePrefix": "api"}},
	}
	b, _ := json.Marshal(host)
	files := map[string]string{
		"host.json": string(b),
		"hello/function.json": `{"bindings": [{"type": "httpTrigger", "authLevel": "anonymous", "direction": "in", "name": "req",
			"methods": ["get"], "route": "hello/{name?}"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// site is one region of the test deployment.
type site struct {
	name, http, leaf, data string
	args                   []string
	proc                   *regionProc
}

func (s *site) url() string { return "http://" + s.http }

func (s *site) start(t *testing.T, bin string) {
	t.Helper()
	s.proc = startDaemon(t, bin, s.url(), s.args...)
}

func (s *site) key(t *testing.T) string { return readKey(t, filepath.Join(s.data, "master.key")) }

// health is the part of a region's GET /healthz the test reads.
type health struct {
	Role    string `json:"role"`
	Active  bool   `json:"active"`
	Replica *struct {
		Primary     string `json:"primary"`
		Known       bool   `json:"known"`
		LagMessages int64  `json:"lagMessages"`
	} `json:"replica"`
}

func (s *site) health() (health, error) {
	var h health
	resp, err := http.Get(s.url() + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

func (s *site) isPrimary() bool {
	h, err := s.health()
	return err == nil && h.Role == "primary" && h.Active
}

// isStandbyOf: secondary of p, its mirrors known and without lag.
func (s *site) isStandbyOf(p string) bool {
	h, err := s.health()
	return err == nil && h.Role == "secondary" && h.Replica != nil && h.Replica.Primary == p && h.Replica.Known && h.Replica.LagMessages == 0
}

// waitLimit is how long waitFor waits.
var waitLimit = 3 * time.Minute

// waitFor polls cond until it holds, or fails the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool, logs ...*site) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, s := range logs {
				fmt.Fprintf(&b, "--- %s:\n%s\n", s.name, s.proc.stderr)
			}
			t.Fatalf("not within %s: %s\n%s", waitLimit, what, b.String())
		}
		<-tick.C
	}
}

// load sends GETs through the traffic manager's proxy until stopped and
// counts the answers that are not 200.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

func startLoad(url string) *load {
	l := &load{}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	client := &http.Client{Timeout: 30 * time.Second}
	l.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l.get(ctx, client, url)
		}
	})
	return l
}

func (l *load) get(ctx context.Context, client *http.Client, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		return
	}
	why := ""
	if err != nil {
		why = err.Error()
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			why = fmt.Sprintf("%d %s", resp.StatusCode, body)
		}
	}
	if why == "" {
		l.ok.Add(1)
		return
	}
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 5 {
		l.failures = append(l.failures, why)
	}
	l.mu.Unlock()
}

// queueLen is the length of the test's queue in s, as its admin API says.
func (s *site) queueLen(t *testing.T) int {
	t.Helper()
	var q struct{ Length int }
	if code := s.proc.call(t, "GET", "/admin/apps/hello/queues/upgrade-check", s.key(t), "", &q); code != http.StatusOK {
		t.Errorf("queue length in %s: status %d", s.name, code)
	}
	return q.Length
}

// upgradeSlow says why the test does not run by default: it starts a
// control node, two regions and a traffic manager, and takes about 60 s,
// most of it waiting for the restarted old primary's mirrors: it listens
// for the leafnode, so its server asks the new primary for its mirror
// consumers before the link is back, and waits 30 s for the lost answer
// before it asks again (nats-server v2.15.2).
//
// It found, and now guards against: a restarted standby's queue mirror
// refused for minutes ("filtered consumer not unique on workqueue stream
// (10100)"), and a pending queue message lost when the rejoined old
// primary was restarted or rebuilt (its mirror consumer's acks emptied a
// promoted queue that had no worker consumer). Still open, not exercised
// here: without --control, a region rebuilt on an empty data directory
// after a planned failover is never told its role (the deciding manager
// tells a region it is secondary only until it confirmed the current
// epoch once: internal/traffic/witness.go, notifySecondaries).
const upgradeSlow = "starts a whole deployment and takes about 60 s; TANDEM_UPGRADE_TEST=1 runs it"

// TestRollingUpgradeWithoutDowntime follows docs/operations.md's upgrade
// on a real deployment of a control node, two regions and a traffic
// manager, under a steady load of GETs through the traffic manager: the
// standby is stopped (SIGTERM) and started on the new binary, the primary
// role moves to it with 'tandem failover --planned', then the old
// primary, once it is a standby of the new one, is upgraded: restarted in
// place, or rebuilt on an empty data directory that keeps only its
// master.key. No GET may fail, and a message queued in the first primary
// before the upgrade must be pending in the new primary after it.
//
// It is skipped unless TANDEM_UPGRADE_TEST=1: see upgradeSlow.
func TestRollingUpgradeWithoutDowntime(t *testing.T) {
	if os.Getenv("TANDEM_UPGRADE_TEST") != "1" {
		t.Skip(upgradeSlow)
	}
	cases := []struct {
		name    string
		rebuild bool
	}{
		{"old primary restarted in place", false},
		{"old primary rebuilt keeping master.key", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { rollingUpgrade(t, c.rebuild) })
	}
}

func rollingUpgrade(t *testing.T, rebuild bool) {
	oldBin := tandemBin(t)
	root := t.TempDir()
	// The new version, installed under another path.
	newBin := filepath.Join(root, "new", "tandem")
	if err := os.MkdirAll(filepath.Dir(newBin), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(oldBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newBin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "apps", "hello")
	writeHelloApp(t, app, oldBin)
	// A one-node control cluster, which the regions follow (--control) as
	// the guide's units do.
	controlAddr := freeAddr(t)
	ctl := startProc(t, oldBin, "", func(p *regionProc) bool { return strings.Contains(p.stderr.String(), "control node c1 ready") },
		"control", "--name", "c1", "--data", filepath.Join(root, "control"), "--listen", controlAddr)
	controlURL := "nats://" + controlAddr

	east := &site{name: "east", http: freeAddr(t), leaf: freeAddr(t), data: filepath.Join(root, "east")}
	west := &site{name: "west", http: freeAddr(t), leaf: freeAddr(t), data: filepath.Join(root, "west")}
	for _, s := range []*site{east, west} {
		other := map[string]string{"east": "west", "west": "east"}[s.name]
		s.args = []string{"region", "--name", s.name, "--standby", "--data", s.data, "--http", s.http,
			"--leaf-listen", s.leaf, "--peer", other, "--control", controlURL, "--app", app}
	}
	west.args = append(west.args, "--leaf-remote", "nats-leaf://"+east.leaf)
	east.start(t, oldBin)
	west.start(t, oldBin)

	proxy, admin := freeAddr(t), freeAddr(t)
	trafficKey := filepath.Join(root, "traffic.key")
	if err := os.WriteFile(trafficKey, []byte("upgrade-test-traffic-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	topo := filepath.Join(root, "topology.yaml")
	var y strings.Builder
	y.WriteString("regions:\n")
	for i, s := range []*site{east, west} {
		fmt.Fprintf(&y, "  - {name: %s, proxyURL: %q, natsLeafURL: %q, priority: %d, adminKeyFile: %q}\n",
			s.name, s.url(), "nats-leaf://"+s.leaf, i+1, filepath.Join(s.data, "master.key"))
	}
	fmt.Fprintf(&y, "primary: east\ntraffic:\n  listen: {http: %q, admin: %q}\n  adminKeyFile: %q\n  control: %q\n", proxy, admin, trafficKey, controlURL)
	y.WriteString("  profile: {name: app.tandem.local}\n  probes: {interval: 250ms, timeout: 200ms, toleratedFailures: 3, rise: 1}\n  lease: 2s\n")
	if err := os.WriteFile(topo, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tm := startDaemon(t, oldBin, "http://"+admin, "traffic", "--config", topo, "--id", "tm1", "--data", filepath.Join(root, "traffic"))
	logs := []*site{east, west, {name: "traffic", proc: tm}, {name: "control", proc: ctl}}

	waitFor(t, "east primary, west its ready standby", func() bool { return east.isPrimary() && west.isStandbyOf("east") }, logs...)
	if code := east.proc.call(t, "POST", "/admin/apps/hello/queues/upgrade-check/messages", east.key(t), "before the upgrade", nil); code != http.StatusCreated {
		t.Fatalf("enqueue on east: %d", code)
	}
	l := startLoad("http://" + proxy + "/api/hello/upgrade")
	defer l.stop()
	waitFor(t, "a GET through the traffic manager", func() bool { return l.ok.Load() > 0 }, logs...)

	// Step 2: the standby.
	budget := regionStopBudget(t)
	west.proc.stop(t, budget)
	west.start(t, newBin)
	waitFor(t, "upgraded west the standby of east again, no lag", func() bool { return west.isStandbyOf("east") }, logs...)
	if n := east.queueLen(t); n != 1 {
		t.Errorf("after the standby's restart the primary's queue holds %d messages, want 1", n)
	}
	// Step 3: the planned failover, as the guide runs it.
	if o, errs, code := run(t, newBin, "failover", "--to", "west", "--planned", "--traffic", "http://"+admin, "--key", readKey(t, trafficKey)); code != 0 {
		t.Fatalf("tandem failover --planned: exit %d\n%s%s", code, o, errs)
	}
	waitFor(t, "west primary, east its standby", func() bool { return west.isPrimary() && east.isStandbyOf("west") }, logs...)
	if n := west.queueLen(t); n != 1 {
		t.Errorf("after the planned failover the new primary's queue holds %d messages, want 1", n)
	}
	// Step 4: the old primary.
	east.proc.stop(t, budget)
	if rebuild {
		keepOnlyMasterKey(t, east.data)
	}
	east.start(t, newBin)
	waitFor(t, "upgraded east the standby of west, no lag", func() bool { return east.isStandbyOf("west") && west.isPrimary() }, logs...)
	if n := west.queueLen(t); n != 1 {
		var peek any
		code := west.proc.call(t, "GET", "/admin/apps/hello/queues/upgrade-check/messages", west.key(t), "", &peek)
		t.Errorf("after the old primary's upgrade the new primary's queue holds %d messages, want 1 (the old primary's replica: %d; a peek in the new primary: %d %v)",
			n, east.queueLen(t), code, peek)
	}
	before := l.ok.Load()
	waitFor(t, "GETs after the upgrade", func() bool { return l.ok.Load() > before }, logs...)
	l.stop()
	l.wg.Wait()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d GETs failed during the upgrade; first: %q", n, n+l.ok.Load(), l.failures)
	}
	t.Logf("%d GETs through the traffic manager during the upgrade, %d failed", l.ok.Load(), l.failed.Load())
}

// keepOnlyMasterKey empties a region's data directory but for master.key,
// as the guide's rebuild does.
func keepOnlyMasterKey(t *testing.T, data string) {
	t.Helper()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "master.key" {
			if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}
