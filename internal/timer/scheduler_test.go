package timer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

var everyMinute = Spec{Schedule: "0 * * * * *", UseMonitor: true}

// wantCalls checks the calls' times and IsPastDue flags.
func wantCalls(t *testing.T, got []call, times []time.Time, pastDue []bool) {
	t.Helper()
	if len(got) != len(times) {
		var at []string
		for _, c := range got {
			at = append(at, c.at.Format(time.TimeOnly))
		}
		t.Fatalf("%d calls at %v, want %d", len(got), at, len(times))
	}
	for i, c := range got {
		if !c.at.Equal(times[i]) || !c.info.ClaimedAt.Equal(c.at) || c.info.IsPastDue != pastDue[i] {
			t.Fatalf("call %d at %s (claimed %s) pastDue=%v, want %s pastDue=%v", i, c.at.Format(time.TimeOnly),
				c.info.ClaimedAt.Format(time.TimeOnly), c.info.IsPastDue, times[i].Format(time.TimeOnly), pastDue[i])
		}
	}
}

func TestTicksFollowScheduleWithAzureStatus(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.runUntil(at("3m30s"))
	calls := rec.seen()
	wantCalls(t, calls, []time.Time{at("1m"), at("2m"), at("3m")}, []bool{false, false, false})
	// As in Azure, ScheduleStatus is the status before the run: Next is
	// this run's due time, Last the previous run (zero before the first).
	prevLast := time.Time{}
	for i, c := range calls {
		st := c.info.ScheduleStatus
		if st == nil || !st.Next.Equal(c.at) || !st.Last.Equal(prevLast) {
			t.Fatalf("call %d status %+v", i, st)
		}
		prevLast = c.at
	}
	if r := h.statusOf(); !r.Last.Equal(at("3m")) || !r.Next.Equal(at("4m")) || r.Node != "a" || r.Epoch != 1 {
		t.Fatalf("stored status %+v", r)
	}
}

func TestPastDueAfterDowntimeRunsOnceAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.runUntil(at("1m30s")) // one run at 12:01
	h.restartRegion()       // the region is down from 12:01:30 ...
	h.clk.Set(at("10m30s")) // ... to 12:10:30, missing nine runs
	h.add(h.node("b"), everyMinute, rec.fire("b"))
	h.runUntil(at("12m30s"))
	calls := rec.seen()
	wantCalls(t, calls, []time.Time{at("1m"), at("10m30s"), at("11m"), at("12m")}, []bool{false, true, false, false})
	if st := calls[1].info.ScheduleStatus; !st.Last.Equal(at("1m")) || !st.Next.Equal(at("2m")) {
		t.Fatalf("past-due status %+v, want Last 12:01 and Next 12:02 (the first missed)", st)
	}
}

func TestScheduleChangeRecomputesNextWithoutPastDue(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.runUntil(at("1m30s"))
	h.stopNodes()
	h.clk.Set(at("10m30s"))
	h.add(h.node("b"), Spec{Schedule: "0 */5 * * * *", UseMonitor: true}, rec.fire("b"))
	h.runUntil(at("16m"))
	calls := rec.seen()
	wantCalls(t, calls, []time.Time{at("1m"), at("15m")}, []bool{false, false})
	if st := calls[1].info.ScheduleStatus; !st.Last.IsZero() || !st.LastUpdated.Equal(at("10m30s")) {
		t.Fatalf("status after a schedule change %+v: want Last cleared, LastUpdated 12:10:30", st)
	}
}

func TestRunOnStartup(t *testing.T) {
	cases := []struct {
		name     string
		downtime bool
		startup  bool
		want     []bool // IsPastDue of each call made at start-up
	}{
		{"fires at start", false, true, []bool{false}},
		{"not without the flag", false, false, nil},
		{"past due replaces it", true, true, []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.recorder()
			if c.downtime {
				h.add(h.node("a"), everyMinute, rec.fire("a"))
				h.runUntil(at("1m30s"))
				h.stopNodes()
				h.clk.Set(at("5m30s"))
			}
			before := len(rec.seen())
			spec := everyMinute
			spec.RunOnStartup = c.startup
			h.add(h.node("b"), spec, rec.fire("b"))
			h.settle()
			got := rec.seen()[before:]
			if len(got) != len(c.want) {
				t.Fatalf("%d start-up calls, want %d", len(got), len(c.want))
			}
			for i, g := range got {
				if g.info.IsPastDue != c.want[i] || !g.at.Equal(h.clk.Now()) {
					t.Fatalf("start-up call %+v", g)
				}
			}
		})
	}
}

// A run that outlasts the next due time is never overlapped, on any node;
// as in Azure, the tick that came due meanwhile runs as soon as it ends
// (IsPastDue false) and later missed ticks are skipped.
func TestNoOverlapAcrossNodes(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	rec.hold = make(chan struct{})
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.add(h.node("b"), everyMinute, rec.fire("b"))
	h.runUntil(at("3m30s")) // the 12:01 run is still going
	if n := len(rec.seen()); n != 1 {
		t.Fatalf("%d calls while the first run holds, want 1", n)
	}
	close(rec.hold) // the held run ends; later runs find the channel closed
	h.drain()
	h.runUntil(at("5m30s"))
	calls := rec.seen()
	wantCalls(t, calls, []time.Time{at("1m"), at("3m30s"), at("4m"), at("5m")}, []bool{false, false, false, false})
	if st := calls[1].info.ScheduleStatus; !st.Next.Equal(at("2m")) || !st.Last.Equal(at("1m")) {
		t.Fatalf("late run status %+v, want Next 12:02 (computed when the 12:01 run started)", st)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.maxIn != 1 {
		t.Fatalf("%d runs at once", rec.maxIn)
	}
}

func TestRoleGatingAndLeaseExpiry(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.runUntil(at("1m30s"))
	// Demoted: a secondary runs no timers.
	h.setRole(role.Secondary, 2, time.Time{})
	h.runUntil(at("3m30s"))
	// Promoted with a lease to 12:05:30: resume with past-due semantics,
	// then fire on schedule until the lease passes.
	h.setRole(role.Primary, 3, at("5m30s"))
	h.runUntil(at("7m30s"))
	// Lease renewed: one past-due run for what was missed, then on schedule.
	h.setRole(role.Primary, 3, at("1h"))
	h.runUntil(at("8m30s"))
	wantCalls(t, rec.seen(), []time.Time{at("1m"), at("3m30s"), at("4m"), at("5m"), at("7m30s"), at("8m")},
		[]bool{false, true, false, false, true, false})
}

func TestEpochFencing(t *testing.T) {
	h := newHarness(t)
	h.setRole(role.Primary, 4, at("1h"))
	// The status was last written by another region under epoch 5.
	h.putStatus(record{Last: t0, Next: at("1m"), LastUpdated: t0, Epoch: 5, Node: "west-1"})
	rec := h.recorder()
	h.add(h.node("a"), everyMinute, rec.fire("a"))
	h.runUntil(at("3m30s"))
	if n := len(rec.seen()); n != 0 {
		t.Fatalf("a region at epoch 4 fired %d times over an epoch-5 status", n)
	}
	h.setRole(role.Primary, 6, at("1h")) // a newer epoch: resume, past due
	h.runUntil(at("4m30s"))
	wantCalls(t, rec.seen(), []time.Time{at("3m30s"), at("4m")}, []bool{true, false})
	if r := h.statusOf(); r.Epoch != 6 || r.Node != "a" {
		t.Fatalf("status %+v not written under epoch 6", r)
	}
}

func TestAddAndNewErrors(t *testing.T) {
	h := newHarness(t)
	s := h.node("a")
	noop := func(context.Context, Info) error { return nil }
	cases := []struct {
		app, fn, sched string
		fire           FireFunc
		want           string
	}{
		{"app_1", "Tick", "0 * * * * *", noop, `app name "app_1"`},
		{"app1", "1Tick", "0 * * * * *", noop, `function name "1Tick"`},
		{"app1", "Tick", "0 */5 * * * xyz", noop, `schedule "0 */5 * * * xyz": day-of-week field "xyz"`},
		{"app1", "Tick", "0 * * * * *", nil, "fire func is nil"},
	}
	for _, c := range cases {
		err := s.Add(c.app, c.fn, Spec{Schedule: c.sched}, c.fire)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Add(%s, %s, %q): %v, want %q", c.app, c.fn, c.sched, err, c.want)
		}
	}
	if err := s.Add("app1", "Tick", everyMinute, noop); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("app1", "Tick", everyMinute, noop); err == nil || !strings.Contains(err.Error(), "already added") {
		t.Fatalf("duplicate add: %v", err)
	}
	if err := s.Remove("app1", "Nope"); !errors.Is(err, ErrUnknownTimer) {
		t.Fatalf("remove unknown: %v", err)
	}
	if _, err := New(Options{JS: h.b.JetStream(), StatusBucket: "x", LeaseBucket: "y", Role: h.role}); err == nil ||
		!strings.Contains(err.Error(), `option "NodeID"`) {
		t.Fatalf("New without NodeID: %v", err)
	}
}

// Shutdown drains a running invocation until its context ends, then
// cancels it; a second call is harmless.
func TestShutdownDrainsThenCancels(t *testing.T) {
	h := newHarness(t)
	rec := h.recorder()
	rec.hold = make(chan struct{})
	s := h.node("a")
	h.add(s, everyMinute, rec.fire("a"))
	h.runUntil(at("1m"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown with a stuck run: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil || s.Ready() {
		t.Fatalf("second shutdown: %v ready=%v", err, s.Ready())
	}
}

// A schedule in a time zone fires at that zone's wall-clock times and the
// payload shows them with the zone's offset (Azure's WEBSITE_TIME_ZONE).
func TestTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.leaseT = time.Hour // fewer renewals to step through in a simulated day
	rec := h.recorder()
	h.add(h.node("a"), Spec{Schedule: "0 0 21 * * *", UseMonitor: true, Location: tokyo}, rec.fire("a"))
	h.runUntil(at("24h30m"))
	calls := rec.seen()
	wantCalls(t, calls, []time.Time{at("24h")}, []bool{false}) // 21:00 JST = 12:00 UTC, the next day
	b, _ := json.Marshal(calls[0].info)
	if !strings.Contains(string(b), `"Next":"2026-11-24T21:00:00+09:00"`) {
		t.Fatalf("payload %s", b)
	}
}
