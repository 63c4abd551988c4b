package traffic

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/role"
)

// roleLog records every role a region's role.Manager takes.
type roleLog struct {
	mu   sync.Mutex
	seen []string
}

func watchRoles(r *region) *roleLog {
	l := &roleLog{}
	cancel := r.roles.Subscribe(func(s role.State) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if n := len(l.seen); n == 0 || l.seen[n-1] != roleString(s) { // renewals repeat the same role
			l.seen = append(l.seen, roleString(s))
		}
	})
	r.t.Cleanup(cancel)
	return l
}

func (l *roleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.seen, " ")
}

func roleString(s role.State) string { return string(s.Role) + "@" + strconv.FormatUint(s.Epoch, 10) }

func lastFailover(t *testing.T, m *Manager) Failover {
	t.Helper()
	h := m.Status().Failovers
	if len(h) == 0 {
		t.Fatal("no failover recorded")
	}
	return h[len(h)-1]
}

func TestAutomaticFailoverWaitsForTheLease(t *testing.T) {
	clk := clock.NewFake(t0)
	b := startBroker(t)
	east, west := newFakeRegion(t, b, "east", clk), newFakeRegion(t, b, "west", clk)
	const margin = 100 * time.Millisecond
	m, f := startFake(t, setup{tolerated: 1, rise: 1, lease: "600ms", margin: "100ms"}, east, west)
	if e, w := roleString(east.roles.State()), roleString(west.roles.State()); e != "primary@1" || w != "secondary@1" {
		t.Fatalf("after start: east %s west %s", e, w)
	}
	f.step(time.Second)
	if lease := east.roles.State().LeaseUntil; !lease.After(t0.Add(time.Second)) {
		t.Fatalf("lease not renewed while east is healthy: %v", lease)
	}
	east.stop() // the primary dies
	for i := 0; m.endpointHealth("east").Up; i++ {
		if i > 5 {
			t.Fatal("east never marked down")
		}
		f.step(100 * time.Millisecond)
	}
	granted := east.roles.State().LeaseUntil // the last lease east accepted
	fenceEnd := m.wit.leaseEnd().Add(margin)
	if fenceEnd.Before(granted.Add(margin)) {
		t.Fatalf("witness fence %v ends before the lease east holds (%v)", fenceEnd, granted)
	}
	f.stepTo(fenceEnd.Add(-time.Millisecond))
	if st := m.Status(); st.Primary != "east" || st.Epoch != 1 {
		t.Fatalf("promoted %s@%d before east's lease ran out", st.Primary, st.Epoch)
	}
	f.stepTo(fenceEnd.Add(200 * time.Millisecond))
	fo := lastFailover(t, m)
	if st := m.Status(); st.Primary != "west" || st.Epoch != 2 || fo.Kind != "automatic" || fo.From != "east" {
		t.Fatalf("after the lease: %s@%d, last failover %+v", st.Primary, st.Epoch, fo)
	}
	if fo.At.Before(granted.Add(margin)) {
		t.Fatalf("west promoted at %v, before east's lease %v plus margin", fo.At, granted)
	}
	if w := west.roles.State(); roleString(w) != "primary@2" || !w.LeaseUntil.After(fo.At) {
		t.Fatalf("west holds %s until %v", roleString(w), w.LeaseUntil)
	}
	if code, from := get(t, m, "GET"); code != 200 || from != "west" {
		t.Fatalf("traffic after failover: %d from %q", code, from)
	}
	east.start(east.addr) // east comes back: secondary at the new epoch, and the primary keeps the traffic
	f.step(300 * time.Millisecond)
	if e := roleString(east.roles.State()); e != "secondary@2" || !m.endpointHealth("east").Up {
		t.Fatalf("returning east is %s (up %v)", e, m.endpointHealth("east").Up)
	}
	if code, from := get(t, m, "GET"); code != 200 || from != "west" {
		t.Fatalf("priority routing must prefer the primary: %d from %q", code, from)
	}
}

func postFailover(t *testing.T, m *Manager, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+m.AdminAddr()+"/failover", strings.NewReader(body))
	if key != "" {
		req.Header.Set("x-functions-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(t, resp)
}

func TestManualFailover(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	eastLog := watchRoles(east)
	m := startManager(t, topologyFor(t, setup{lease: "600ms", margin: "100ms"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "epoch 1", func() bool { return roleString(east.roles.State()) == "primary@1" })
	const key = "traffic-admin-key"
	bad := []struct {
		key, body string
		code      int
	}{
		{"", `{"to":"west"}`, 401},
		{"nope", `{"to":"west"}`, 401},
		{key, `{"to":"north"}`, 404},
		{key, `{"to":""}`, 400},
		{key, `{"to":"west","force":true}`, 400},
	}
	for _, c := range bad {
		if code, body := postFailover(t, m, c.key, c.body); code != c.code {
			t.Errorf("%s with key %q: %d %s, want %d", c.body, c.key, code, body, c.code)
		}
	}
	// Planned: east confirms it stepped down at epoch 1 before west is promoted.
	code, body := postFailover(t, m, key, `{"to":"west","planned":true}`)
	if code != 200 || !contains(body, `"kind": "planned"`) || !contains(body, `"epoch": 2`) {
		t.Fatalf("planned failover: %d %s", code, body)
	}
	if w := roleString(west.roles.State()); w != "primary@2" {
		t.Fatalf("west is %s", w)
	}
	eventually(t, 5*time.Second, "east secondary at epoch 2", func() bool { return roleString(east.roles.State()) == "secondary@2" })
	if got := eastLog.String(); !strings.HasPrefix(got, "primary@1 secondary@1 secondary@2") {
		t.Fatalf("east went through %q; want it to step down at epoch 1 before epoch 2", got)
	}
	// Planned, but the old primary cannot confirm: nothing changes.
	west.adminOff.Store(true)
	if code, body := postFailover(t, m, key, `{"to":"east","planned":true}`); code != 409 || !contains(body, "did not confirm") {
		t.Fatalf("planned without confirmation: %d %s", code, body)
	}
	if st := m.Status(); st.Primary != "west" || st.Epoch != 2 {
		t.Fatalf("a refused planned failover changed the primary: %s@%d", st.Primary, st.Epoch)
	}
	// Unplanned: the witness waits out west's lease, then promotes east.
	leaseBefore := m.Status().LeaseUntil
	code, body = postFailover(t, m, key, `{"to":"east"}`)
	if code != 200 || !contains(body, `"kind": "manual"`) {
		t.Fatalf("manual failover: %d %s", code, body)
	}
	if fo := lastFailover(t, m); fo.At.Before(leaseBefore.Add(100*time.Millisecond)) || fo.Epoch != 3 {
		t.Fatalf("manual failover %+v came before the lease %v ran out", fo, leaseBefore)
	}
	if e := roleString(east.roles.State()); e != "primary@3" {
		t.Fatalf("east is %s", e)
	}
	west.adminOff.Store(false)
	eventually(t, 5*time.Second, "west told secondary@3", func() bool { return roleString(west.roles.State()) == "secondary@3" })
	if code, from := get(t, m, "GET"); code != 200 || from != "east" {
		t.Fatalf("traffic: %d from %q", code, from)
	}
}

func TestRoleAndEpochSurviveRestart(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	top := topologyFor(t, setup{lease: "600ms", margin: "100ms"}, east, west)
	dir := t.TempDir()
	m1 := startManager(t, top, dir, clock.Real{})
	eventually(t, 5*time.Second, "epoch 1", func() bool { return m1.Status().Epoch == 1 })
	if _, err := m1.Failover(context.Background(), "west", true); err != nil {
		t.Fatal(err)
	}
	if err := m1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "control", "jetstream")); err != nil {
		t.Fatalf("the embedded control node keeps the state under the data directory: %v", err)
	}
	m2 := startManager(t, top, dir, clock.Real{})
	eventually(t, 5*time.Second, "ready", m2.Ready)
	st := m2.Status()
	if st.Primary != "west" || st.Epoch != 2 || len(st.Failovers) != 2 || st.Failovers[1].Kind != "planned" {
		t.Fatalf("after restart: %s@%d history %+v", st.Primary, st.Epoch, st.Failovers)
	}
	renewed := west.roles.State().LeaseUntil
	eventually(t, 5*time.Second, "the restarted witness renews west's lease", func() bool {
		return west.roles.State().LeaseUntil.After(renewed)
	})
	if w, st := roleString(west.roles.State()), m2.Status(); w != "primary@2" || st.Epoch != 2 || len(st.Failovers) != 2 {
		t.Fatalf("restart changed roles: west %s, witness epoch %d, %d failovers", w, st.Epoch, len(st.Failovers))
	}
	if code, from := get(t, m2, "GET"); code != 200 || from != "west" {
		t.Fatalf("traffic: %d from %q", code, from)
	}
}

func TestStaleEpochRefusedAndResynced(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	// The regions moved on to epoch 5 (west primary) while this witness's
	// state file says east at epoch 1: a state restored from an old backup.
	ctx := context.Background()
	westLease := time.Now().Add(600 * time.Millisecond)
	if _, err := west.roles.Apply(ctx, role.Request{Role: role.Primary, Epoch: 5, LeaseUntil: westLease}); err != nil {
		t.Fatal(err)
	}
	if _, err := east.roles.Apply(ctx, role.Request{Role: role.Secondary, Epoch: 5}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stale := roleState{Primary: "east", Epoch: 1, LeaseUntil: time.Now().Add(-time.Minute)}
	writeLegacy(t, dir, stale) // imported into the control KV at start
	eastLog := watchRoles(east)
	m := startManager(t, topologyFor(t, setup{lease: "600ms", margin: "100ms"}, east, west), dir, clock.Real{})
	// The region itself refuses a role at an older epoch.
	_, err := m.wit.rc.post(ctx, m.table().byName["east"], role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Second)}, time.Second)
	if se, ok := asStale(err); !ok || se.Current.Epoch != 5 {
		t.Fatalf("stale grant: %v", err)
	}
	eventually(t, 5*time.Second, "resync to epoch 6", func() bool { return m.Status().Epoch == 6 })
	fo := lastFailover(t, m)
	if fo.To != "east" || fo.Kind != "automatic" || !contains(fo.Reason, "newer") {
		t.Fatalf("resync failover %+v", fo)
	}
	if fo.At.Before(westLease.Add(100 * time.Millisecond)) {
		t.Fatalf("east promoted at %v while west's lease ran to %v", fo.At, westLease)
	}
	eventually(t, 5*time.Second, "east primary@6", func() bool { return roleString(east.roles.State()) == "primary@6" })
	if got := eastLog.String(); got != "primary@6" {
		t.Fatalf("east took roles %q; the stale epoch 1 must never be accepted", got)
	}
	eventually(t, 5*time.Second, "west secondary@6", func() bool { return roleString(west.roles.State()) == "secondary@6" })
}

func TestFirstStartAdoptsRegionEpochs(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	// The witness lost its data directory while west was primary at epoch 4.
	ctx := context.Background()
	if _, err := west.roles.Apply(ctx, role.Request{Role: role.Primary, Epoch: 4, LeaseUntil: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := east.roles.Apply(ctx, role.Request{Role: role.Secondary, Epoch: 4}); err != nil {
		t.Fatal(err)
	}
	eastLog := watchRoles(east)
	m := startManager(t, topologyFor(t, setup{lease: "600ms", margin: "100ms"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "epoch adopted", func() bool { return m.Status().Epoch == 4 })
	// West keeps the minute-long lease a previous witness granted (a lease
	// only grows within an epoch); this witness renews it and knows it, so
	// it would not promote another region before it ends.
	eventually(t, 5*time.Second, "west renewed at epoch 4, its lease known to the witness", func() bool {
		s := west.roles.State()
		return roleString(s) == "primary@4" && s.Decider == m.ID() && !m.Status().LeaseUntil.Before(s.LeaseUntil)
	})
	st := m.Status()
	if st.Primary != "west" || st.Failovers[0].Kind != "resync" {
		t.Fatalf("first start: %s@%d %+v", st.Primary, st.Epoch, st.Failovers)
	}
	if got := eastLog.String(); contains(got, "primary") {
		t.Fatalf("east took roles %q; it must stay secondary at epoch 4", got)
	}
}

// TestRebuiltSecondaryIsToldItsRole: a secondary that confirmed its role,
// then came back as a new process on an empty data directory (rebuilt
// after its disk was lost) answers its probes at epoch 0; the decider
// tells it its role again instead of trusting the old confirmation.
func TestRebuiltSecondaryIsToldItsRole(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{lease: "600ms", margin: "100ms"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "west secondary@1", func() bool { return roleString(west.roles.State()) == "secondary@1" })
	west.stop()
	fresh := role.New(role.Options{Region: "west", JS: b.JetStream(), Bucket: broker.Name("west", "rebuilt"), Clock: clock.Real{},
		Initial: role.State{Role: role.Secondary}, Logger: testLogger(t)})
	if err := fresh.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Shutdown(context.Background()) })
	west.roles = fresh
	west.start(west.addr)
	eventually(t, 5*time.Second, "the rebuilt west told secondary@1", func() bool { return roleString(fresh.State()) == "secondary@1" })
	if st := m.Status(); st.Primary != "east" || st.Epoch != 1 {
		t.Fatalf("after west came back: primary %s at epoch %d, want east at 1", st.Primary, st.Epoch)
	}
}
