package timer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/schedule"
)

// timer is one timer trigger on this node. A single goroutine (loop) owns
// every field below the channels; it wakes at the next due time, at lease
// renewal, when a run ends, or when poked (role change, lease released).
type timer struct {
	s       *Scheduler
	app, fn string
	key     string
	spec    Spec
	sched   schedule.Schedule
	monitor bool
	fire    FireFunc
	log     *slog.Logger

	wake      chan struct{}
	ctx       context.Context // the loop's; ends on Remove or Shutdown
	cancel    context.CancelFunc
	runCtx    context.Context // the invocations'; ends on Remove or drain timeout
	runCancel context.CancelFunc
	done      chan struct{}
	launched  bool // guarded by s.mu

	hold    *holding      // the lease this node holds, if any
	owner   bool          // this node runs the timer (held the lease last step)
	resume  bool          // reconcile before firing (takeover, activation)
	startup bool          // runOnStartup not yet considered on this node
	active  bool          // role was active at the last step
	epoch   uint64        // role epoch at the last step
	running chan struct{} // closed when the in-flight run ends
	spins   int           // immediate re-steps in a row
	fenceAt uint64        // epoch of the last fencing logged

	obs observation
}

type holding struct {
	rev   uint64
	until time.Time
}

func newTimer(s *Scheduler, app, fn string, spec Spec, sched schedule.Schedule, fire FireFunc) *timer {
	t := &timer{s: s, app: app, fn: fn, key: key(app, fn), spec: spec, sched: sched, fire: fire,
		monitor: spec.UseMonitor && !sched.SubMinute(), startup: true,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(s.loopCtx)
	t.runCtx, t.runCancel = context.WithCancel(s.runCtx)
	t.log = s.opts.Logger.With("app", app, "function", fn)
	return t
}

func (t *timer) loop() {
	defer close(t.done)
	defer t.finish()
	for {
		if !t.wait(t.step()) {
			return
		}
	}
}

// finish waits for a running invocation, then hands the timer over.
func (t *timer) finish() {
	if t.running != nil {
		<-t.running
		t.running = nil
	}
	t.release()
	t.runCancel()
}

func (t *timer) stop() {
	t.cancel()
	t.runCancel()
	t.s.mu.Lock()
	launched := t.launched
	t.s.mu.Unlock()
	if launched {
		<-t.done
	}
}

func (t *timer) poke() {
	t.obs.mu.Lock()
	defer t.obs.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
		t.obs.events++
	default:
	}
}

// step does what is due now and returns when to look again.
func (t *timer) step() time.Time {
	now := t.s.opts.Clock.Now()
	active := t.observeRole()
	if t.running != nil {
		return t.keepLease(now)
	}
	if !active {
		t.release()
		return now.Add(t.s.opts.LeaseTTL)
	}
	if at, ok := t.ensureLease(now); !ok {
		return at
	}
	rec, rev, err := t.s.store.getStatus(t.ctx, t.key)
	if err != nil {
		return t.retry(now, "read status", err)
	}
	if t.fenced(rec) {
		t.release()
		return now.Add(t.s.opts.LeaseTTL)
	}
	if t.resume || rec == nil {
		return t.start(now, rec, rev)
	}
	if !now.Before(rec.Next) {
		at, _ := t.invoke(now, *rec, rev, false)
		return at
	}
	return t.earliest(rec.Next)
}

// observeRole notes the role; becoming active, or a new epoch, means the
// timer resumes with past-due semantics.
func (t *timer) observeRole() bool {
	st := t.s.opts.Role.State()
	active := t.s.opts.Role.Active()
	if active && (!t.active || st.Epoch != t.epoch) {
		t.resume = true
	}
	t.active, t.epoch = active, st.Epoch
	return active
}

// fenced reports a status written under a newer epoch: another region has
// been granted the primary role since ours, so this region must not fire.
func (t *timer) fenced(rec *record) bool {
	if rec == nil || rec.Epoch <= t.epoch {
		return false
	}
	if t.fenceAt != rec.Epoch {
		t.fenceAt = rec.Epoch
		t.log.Warn("timer fenced: status written under a newer epoch", "epoch", t.epoch, "statusEpoch", rec.Epoch, "statusNode", rec.Node)
	}
	return true
}

// start runs Azure's start-up checks as this node begins running the timer.
func (t *timer) start(now time.Time, rec *record, rev uint64) time.Time {
	r := reconcile(rec, t.sched, now, t.monitor)
	if r.write {
		nrev, err := t.s.store.putStatus(t.ctx, t.key, t.stamp(r.rec), rev)
		if errors.Is(err, errConflict) {
			return t.again(now)
		}
		if err != nil {
			return t.retry(now, "write status", err)
		}
		rev = nrev
	}
	var (
		at      = t.earliest(r.rec.Next)
		started = true
	)
	switch {
	case r.pastDue:
		t.log.Info("timer past due; running once now", "missed", r.rec.Next)
		at, started = t.invoke(now, r.rec, rev, true)
	case t.startup && t.spec.RunOnStartup:
		t.log.Info("timer runOnStartup; running now")
		at, started = t.invoke(now, r.rec, rev, false)
	}
	if started { // otherwise the next step starts over
		t.resume, t.startup = false, false
	}
	return at
}

// invoke claims the run in the status (compare-and-set) and only then
// starts it, so no tick runs twice, whichever node or region tries. It
// reports whether the run started.
func (t *timer) invoke(now time.Time, rec record, rev uint64, pastDue bool) (time.Time, bool) {
	if !t.s.opts.Role.Active() || !t.holds(now) {
		return t.again(now), false
	}
	next := t.stamp(ran(t.sched, now))
	if _, err := t.s.store.putStatus(t.ctx, t.key, next, rev); err != nil {
		if errors.Is(err, errConflict) {
			return t.again(now), false
		}
		return t.retry(now, "record run", err), false
	}
	info := Info{Schedule: ScheduleInfo{AdjustForDST: true}, ScheduleStatus: status(rec, t.sched.Location(), t.monitor), IsPastDue: pastDue, ClaimedAt: now}
	t.startRun(info, now)
	return t.earliest(next.Next), true
}

// stamp marks a status with its writer and stores its times in UTC.
func (t *timer) stamp(r record) record {
	r.Last, r.Next, r.LastUpdated = r.Last.UTC(), r.Next.UTC(), r.LastUpdated.UTC()
	r.Schedule, r.Epoch, r.Node = t.spec.Schedule, t.epoch, t.s.opts.NodeID
	return r
}

func (t *timer) startRun(info Info, due time.Time) {
	done := make(chan struct{})
	t.running = done
	t.obs.started()
	t.s.wg.Add(1)
	go func() {
		defer t.s.wg.Done()
		defer close(done)
		defer t.obs.runEnded()
		if err := t.fire(t.runCtx, info); err != nil {
			t.log.Warn("timer run failed (not retried)", "due", due, "pastDue", info.IsPastDue, "err", err)
		}
	}()
}

// earliest returns at, or the lease renewal time if that comes first.
func (t *timer) earliest(at time.Time) time.Time {
	if r := t.renewAt(); !r.IsZero() && r.Before(at) {
		return r
	}
	return at
}

// again asks for an immediate re-step (after a lost compare-and-set),
// backing off if that keeps happening.
func (t *timer) again(now time.Time) time.Time {
	t.spins++
	if t.spins > 5 {
		return now.Add(t.s.opts.RetryDelay)
	}
	return now
}

func (t *timer) retry(now time.Time, what string, err error) time.Time {
	if t.ctx.Err() == nil {
		t.log.Warn("timer "+what, "err", err, "retryIn", t.s.opts.RetryDelay)
	}
	return now.Add(t.s.opts.RetryDelay)
}

// wait sleeps until at (on the injected clock), a poke, the end of the
// running invocation, or the end of the loop; false means stop.
func (t *timer) wait(at time.Time) bool {
	d := at.Sub(t.s.opts.Clock.Now())
	if d <= 0 {
		return t.ctx.Err() == nil
	}
	t.spins = 0
	tm := t.s.opts.Clock.NewTimer(d)
	defer tm.Stop()
	t.obs.waitUntil(at)
	select {
	case <-tm.C():
		t.obs.woke(false)
	case <-t.wake:
		t.obs.woke(true)
	case <-t.running: // nil (blocks) when nothing runs
		t.obs.woke(true)
		t.running = nil
	case <-t.ctx.Done():
		t.obs.woke(false)
		return false
	}
	return true
}

// observation lets tests (and diagnostics) see that a timer is idle:
// blocked until a later time with every poke and run end it was sent
// already taken.
type observation struct {
	mu      sync.Mutex
	waiting bool
	wakeAt  time.Time
	events  int // pokes and run ends sent to the loop
	handled int // ... and taken by it
	runs    int // runs started
	ended   int // runs ended
}

func (o *observation) waitUntil(at time.Time) {
	o.mu.Lock()
	o.waiting, o.wakeAt = true, at
	o.mu.Unlock()
}

// woke records that the loop stopped waiting, taking an event or not.
func (o *observation) woke(event bool) {
	o.mu.Lock()
	o.waiting = false
	if event {
		o.handled++
	}
	o.mu.Unlock()
}

func (o *observation) started() {
	o.mu.Lock()
	o.runs++
	o.mu.Unlock()
}

func (o *observation) runEnded() {
	o.mu.Lock()
	o.ended++
	o.events++
	o.mu.Unlock()
}

// settled reports that the timer is blocked until a time after now with
// nothing pending.
func (t *timer) settled(now time.Time) bool {
	t.obs.mu.Lock()
	defer t.obs.mu.Unlock()
	return t.obs.waiting && t.obs.wakeAt.After(now) && t.obs.events == t.obs.handled
}
