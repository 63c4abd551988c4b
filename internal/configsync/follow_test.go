package configsync

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// role is a test's stand-in for role.State().Primary as seen by a
// secondary: the region to follow, "" while primary.
type role struct{ v atomic.Value }

func newRole(src string) *role {
	r := &role{}
	r.v.Store(src)
	return r
}

func (r *role) source() string { return r.v.Load().(string) }

func (r *role) set(src string, n *node) {
	r.v.Store(src)
	n.sync.Kick()
}

func settingIs(n *node, app, name, value string) func() bool {
	return func() bool {
		v, ok := n.settings.Value(app, settings.AppSetting, name)
		return ok && v == value
	}
}

func keyIs(n *node, app string, sc keys.Scope, name, value string) func() bool {
	return func() bool {
		v, ok := n.keys.Get(app, sc, name)
		return ok && v == value
	}
}

// TestContinuousAcrossLeafnode: two regions, each its own JetStream domain,
// linked by a leafnode. West follows east: existing configuration is
// copied at once, every later change within 1 s, deletes never; then the
// roles swap and east follows west without growing HA-HA- keys.
func TestContinuousAcrossLeafnode(t *testing.T) {
	eastB, westB := linkedPair(t)
	eastRole, westRole := newRole(""), newRole("east")
	east := startNode(t, eastB, eastRole.source)
	mustPut(t, east, "shop", settings.AppSetting, "EXISTING", "1")
	mustSetKey(t, east, "shop", keys.HostScope(), "default", "east-own-host-key")
	west := startNode(t, westB, westRole.source)
	mustSetKey(t, west, "shop", keys.HostScope(), "default", "west-own-host-key")

	eventually(t, 10*time.Second, "west follows east", func() bool { st := west.sync.Status(); return st.Watching && st.Following == "east" })
	eventually(t, 5*time.Second, "initial copy", settingIs(west, "shop", "EXISTING", "1"))
	eventually(t, 5*time.Second, "initial key copy", keyIs(west, "shop", keys.HostScope(), "HA-default", "east-own-host-key"))

	hello := keys.FunctionScope("hello")
	steps := []struct {
		name   string
		change func()
		seen   func() bool
	}{
		{"setting added", func() { mustPut(t, east, "shop", settings.AppSetting, "A", "1") }, settingIs(west, "shop", "A", "1")},
		{"setting modified", func() { mustPut(t, east, "shop", settings.AppSetting, "A", "2") }, settingIs(west, "shop", "A", "2")},
		{"connection string added", func() { mustPut(t, east, "shop", settings.ConnectionString, "Db", "x") }, func() bool {
			v, ok := west.settings.Value("shop", settings.ConnectionString, "Db")
			return ok && v == "x"
		}},
		{"function key added", func() { mustSetKey(t, east, "shop", hello, "default", "fn-key-1") }, keyIs(west, "shop", hello, "HA-default", "fn-key-1")},
		{"function key rotated", func() { mustSetKey(t, east, "shop", hello, "default", "fn-key-2") }, keyIs(west, "shop", hello, "HA-default", "fn-key-2")},
		{"new app", func() { mustPut(t, east, "blog", settings.AppSetting, "B", "1") }, settingIs(west, "blog", "B", "1")},
	}
	for _, s := range steps {
		s.change()
		d := eventually(t, time.Second, s.name+" in west", s.seen)
		t.Logf("%s: applied in west after %v", s.name, d)
	}
	if got := west.keys.Authorize("shop", "hello", "fn-key-2"); got != keys.Function {
		t.Fatalf("the primary's function key in the secondary: %v", got)
	}

	// A delete in the primary is not applied: the marker written after it
	// arrives, the deleted setting stays.
	if _, err := east.settings.Delete(testCtx(t), "shop", settings.AppSetting, "EXISTING"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, east, "shop", settings.AppSetting, "MARK", "1")
	eventually(t, time.Second, "marker after a delete", settingIs(west, "shop", "MARK", "1"))
	if !settingIs(west, "shop", "EXISTING", "1")() {
		t.Fatal("a setting deleted in the primary was deleted in the secondary")
	}
	checkLagObserved(t, west)
	checkContinuousAudit(t, west)

	// Failover: west becomes primary and stops; east follows west.
	westRole.set("", west)
	eastRole.set("west", east)
	eventually(t, 5*time.Second, "west stops following", func() bool { return west.sync.Status().Following == "" })
	eventually(t, 10*time.Second, "east follows west", func() bool { st := east.sync.Status(); return st.Watching && st.Following == "west" })
	eventually(t, 5*time.Second, "west's own key reaches east", keyIs(east, "shop", keys.HostScope(), "HA-default", "west-own-host-key"))
	mustPut(t, west, "shop", settings.AppSetting, "FROM_WEST", "1")
	eventually(t, time.Second, "change in the new primary", settingIs(east, "shop", "FROM_WEST", "1"))
	if _, ok := east.keys.Get("shop", keys.HostScope(), "HA-HA-default"); ok {
		t.Fatal("a replica was copied back as HA-HA-default")
	}
	if keyOf(t, east, "shop", keys.HostScope(), "default") != "east-own-host-key" {
		t.Fatal("east's own key changed")
	}
}

func checkLagObserved(t *testing.T, n *node) {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var count uint64
	for _, mf := range mfs {
		if mf.GetName() != "tandem_configsync_lag_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			count += m.GetHistogram().GetSampleCount()
			if sum := m.GetHistogram().GetSampleSum(); sum < 0 {
				t.Fatalf("negative lag sum %v", sum)
			}
		}
	}
	if count < 6 {
		t.Fatalf("lag observations = %d, want one per live change (>= 6)", count)
	}
}

func checkContinuousAudit(t *testing.T, n *node) {
	t.Helper()
	entries, err := n.sync.Audit(testCtx(t), AuditQuery{App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no audit entries in the secondary")
	}
	for _, e := range entries {
		if e.By != byContinuous || e.Source != "east" || e.Region != "west" {
			t.Fatalf("audit entry %+v", e)
		}
	}
}

// TestFollowRetriesUntilThePrimaryAnswers: a secondary told to follow a
// region it cannot reach reports the error and keeps trying; it becomes
// idle when it is primary again.
func TestFollowRetriesUntilThePrimaryAnswers(t *testing.T) {
	b := startBroker(t, "west", false)
	r := newRole("nowhere")
	west := startNode(t, b, r.source)
	eventually(t, 10*time.Second, "error reported", func() bool {
		st := west.sync.Status()
		return st.Following == "nowhere" && !st.Watching && st.LastError != ""
	})
	r.set("", west)
	eventually(t, 5*time.Second, "idle", func() bool { return west.sync.Status().Following == "" })
}

// TestFollowSurvivesAPrimaryRestart: the primary's server stops and comes
// back on the same leafnode port; the secondary's watch recovers and
// copies the changes made after the restart.
func TestFollowSurvivesAPrimaryRestart(t *testing.T) {
	dir, port := t.TempDir(), freePort(t)
	startEast := func() *node {
		b, err := broker.Start(testCtx(t), broker.Options{Region: "east", Dir: dir, LeafListen: port, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		n := startStores(t, b, "east")
		n.name = "east"
		return n
	}
	east := startEast()
	west := startNode(t, startBroker(t, "west", false, "nats://"+port), newRole("east").source)
	eventually(t, 15*time.Second, "west follows east", func() bool { return west.sync.Status().Watching })
	mustPut(t, east, "shop", settings.AppSetting, "BEFORE", "1")
	eventually(t, 5*time.Second, "change before the restart", settingIs(west, "shop", "BEFORE", "1"))

	_ = east.settings.Shutdown(testCtx(t))
	_ = east.keys.Shutdown(testCtx(t))
	east.b.Shutdown()
	east = startEast()
	t.Cleanup(east.b.Shutdown)
	mustPut(t, east, "shop", settings.AppSetting, "AFTER", "1")
	d := eventually(t, 10*time.Second, "change after the restart", settingIs(west, "shop", "AFTER", "1"))
	t.Logf("copied %v after the primary came back", d)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
