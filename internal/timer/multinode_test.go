package timer

import (
	"context"
	"testing"
	"time"
)

// Three nodes of one region share the broker: every tick fires exactly
// once, and when the node running the timer shuts down another takes over
// at once (the released lease is watched), still once per tick.
func TestNodesFireEachTickOnce(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	spec := Spec{Schedule: "*/10 * * * * *", UseMonitor: true} // sub-minute: monitor forced off
	nodes := map[string]*Scheduler{}
	for _, id := range []string{"a", "b", "c"} {
		nodes[id] = h.node(id)
		h.add(nodes[id], spec, rec.fire(id))
	}
	h.runUntil(at("1m5s"))
	owner := rec.seen()[0].node
	if err := nodes[owner].Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.dropNode(nodes[owner])
	h.waitLease(func(l *lease) bool { return l != nil && l.Holder != owner && h.clk.Now().Before(l.Until) })
	h.runUntil(at("2m"))
	var want []time.Time
	var pastDue []bool
	for d := 10 * time.Second; d <= 2*time.Minute; d += 10 * time.Second {
		want, pastDue = append(want, t0.Add(d)), append(pastDue, false)
	}
	calls := rec.seen()
	wantCalls(t, calls, want, pastDue)
	for _, c := range calls {
		if c.info.ScheduleStatus != nil {
			t.Fatalf("monitor is off for a sub-minute schedule, got status %+v", c.info.ScheduleStatus)
		}
		if c.at.After(at("1m5s")) && c.node == owner {
			t.Fatalf("node %s fired after shutting down", owner)
		}
	}
}

// A node that died holding the lease (simulated by writing its lease and
// status directly) blocks the timer until the lease expires by the clock;
// then a live node takes over with one past-due run.
func TestCrashedNodeLeaseExpires(t *testing.T) {
	h := newHarness(t)
	kv := h.kv()
	h.putStatus(record{Last: t0, Next: at("1m"), LastUpdated: t0, Epoch: 1, Node: "ghost"})
	if _, err := kv.putLease(context.Background(), key("app1", "Tick"), lease{Holder: "ghost", Until: at("1m30s"), Epoch: 1}, 0); err != nil {
		t.Fatal(err)
	}
	rec := h.recorder()
	h.add(h.node("b"), everyMinute, rec.fire("b"))
	h.runUntil(at("2m30s"))
	wantCalls(t, rec.seen(), []time.Time{at("1m30s"), at("2m")}, []bool{true, false})
}

func (h *harness) dropNode(s *Scheduler) {
	started, _ := s.runs()
	h.gone += started
	for i, n := range h.nodes {
		if n == s {
			h.nodes = append(h.nodes[:i], h.nodes[i+1:]...)
			return
		}
	}
}

// waitLease polls the stored lease of app1/Tick until ok accepts it.
func (h *harness) waitLease(ok func(*lease) bool) {
	h.t.Helper()
	kv := h.kv()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, _, err := kv.getLease(context.Background(), key("app1", "Tick"))
		if err != nil {
			h.t.Fatal(err)
		}
		if ok(l) {
			h.settle()
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("lease never became as expected: %+v", l)
		}
		time.Sleep(time.Millisecond)
	}
}

// Unloading an app stops its timer and releases the lease; loading it
// again with a new schedule recomputes Next without a past-due run.
func TestRemoveAndReAdd(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	s := h.node("a")
	h.add(s, everyMinute, rec.fire("a"))
	h.runUntil(at("1m30s"))
	if n := s.RemoveApp("app1"); n != 1 {
		t.Fatalf("RemoveApp removed %d timers", n)
	}
	if l, _, err := h.kv().getLease(context.Background(), key("app1", "Tick")); err != nil || l != nil {
		t.Fatalf("lease after remove: %+v %v", l, err)
	}
	h.runUntil(at("4m30s"))
	h.add(s, Spec{Schedule: "0 */5 * * * *", UseMonitor: true}, rec.fire("a"))
	h.runUntil(at("10m30s"))
	wantCalls(t, rec.seen(), []time.Time{at("1m"), at("5m"), at("10m")}, []bool{false, false, false})
}
