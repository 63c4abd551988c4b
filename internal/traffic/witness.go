package traffic

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/role"
)

// witness decides which region is primary. It grants the primary a lease
// through POST /admin/role and renews it every lease/4 while the primary is
// up; it tells every other region it is secondary. When the primary is down
// and the last lease it granted has run out by its own clock, plus a safety
// margin, it promotes the next healthy region by priority at epoch+1. The
// epoch and the latest lease are written to the control cluster's KV with
// compare-and-set before any region hears of them, so no witness reuses an
// epoch or forgets a lease, and of two deciders only one write lands.
//
// Every traffic manager runs a witness; only the one holding the decider
// lock (control.Campaign) decides. The others follow the stored state,
// route by it, and take the lock when its holder falls silent.
type witness struct {
	m    *Manager
	ctl  *control.Store
	camp *control.Campaign
	rc   *roleClient

	deciding atomic.Bool                     // this manager holds the decider lock now
	decider  atomic.Pointer[control.Decider] // the holder last seen
	lastBeat time.Time                       // heartbeat written (opMu)
	ctlErr   atomic.Pointer[string]          // the last control cluster error, for status

	opMu sync.Mutex // one role operation at a time: a tick or a failover

	mu  sync.Mutex
	st  roleState
	rev uint64 // st's revision in the control KV (0: none stored yet)
	// granted is the latest lease this witness granted at st.Epoch;
	// foreign is the latest lease bound read from the control KV (written
	// by another decider, or by this one before a restart), whose grants
	// this witness cannot know. A failover waits for both.
	granted, foreign time.Time
	lost             string            // why the primary lost its role although it may be up
	confirmed        map[string]uint64 // region -> epoch at which it last accepted its role
	roleErr          map[string]string // region -> last role error
	stalled          string            // why no promotion could happen, for status

	primary atomic.Pointer[string] // read by routing on every request
	kick    chan struct{}
	kicks   atomic.Int64 // kicks sent and not yet handled (tests wait for 0)
}

func newWitness(m *Manager) *witness {
	return &witness{m: m, rc: newRoleClient(), kick: make(chan struct{}, 1),
		confirmed: map[string]uint64{}, roleErr: map[string]string{}}
}

// load reads the stored role state; at first start the configured primary
// is the candidate for epoch 1.
func (w *witness) load(ctx context.Context, ctl *control.Store, id string, lease time.Duration) error {
	w.ctl, w.camp, w.rc.decider = ctl, ctl.NewCampaign(id, deciderTTL(lease)), id
	st, rev, found, err := ctl.Role(ctx)
	if err != nil {
		return fmt.Errorf("witness load: %w", err)
	}
	if !found {
		st = roleState{Primary: configured(w.m)}
	}
	w.st, w.rev, w.foreign = st, rev, st.LeaseUntil
	w.primary.Store(&st.Primary)
	return nil
}

func configured(m *Manager) string { return m.opts.Topology.Primary }

func (w *witness) state() roleState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// poke asks the loop to look at the world now (a health change, a reload).
func (w *witness) poke() {
	w.kicks.Add(1)
	select {
	case w.kick <- struct{}{}:
	default:
		w.kicks.Add(-1) // one is already pending and covers this one
	}
}

func (w *witness) run(ctx context.Context) {
	timer := w.m.clk.NewTimer(0)
	defer timer.Stop()
	for {
		handledKick := false
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		case <-w.kick:
			timer.Stop()
			handledKick = true
		}
		wait := w.tick(ctx)
		timer.Reset(max(wait, time.Millisecond))
		if handledKick {
			w.kicks.Add(-1)
		}
	}
}

// tick renews, waits out a lease or promotes, and returns when to look again.
func (w *witness) tick(ctx context.Context) time.Duration {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	t := w.m.table()
	tr := t.top.Traffic
	every := tr.Lease / 4
	w.beat(ctx)
	w.reloadKeys(t)
	if !w.campaign(ctx) {
		w.refresh(ctx)
		return tr.Lease / 8
	}
	w.refresh(ctx)
	st := w.state()
	if st.Epoch == 0 {
		w.first(ctx, t)
		return every
	}
	prim := t.byName[st.Primary]
	if prim != nil && prim.cfg.Enabled && !prim.health.view().Known {
		return every // just started: judge the primary by a probe, not by silence
	}
	if prim != nil && prim.usable() && w.lostReason() == "" {
		w.setStalled("")
		w.renew(ctx, t, prim)
		w.notifySecondaries(ctx, t)
		return every
	}
	w.notifySecondaries(ctx, t)
	now, fenceEnd := w.m.clk.Now(), w.leaseEnd().Add(tr.LeaseMargin)
	if now.Before(fenceEnd) {
		w.setStalled(fmt.Sprintf("primary %s unavailable; waiting for its lease to run out at %s", st.Primary, fenceEnd.Format(time.RFC3339Nano)))
		return min(every, fenceEnd.Sub(now))
	}
	w.promoteNext(ctx, t, st)
	return every
}

func (w *witness) promoteNext(ctx context.Context, t *table, st roleState) {
	to := t.best()
	if to == nil {
		w.setStalled(fmt.Sprintf("primary %s unavailable and no healthy region to promote", st.Primary))
		return
	}
	reason := w.lostReason()
	if reason == "" {
		reason = fmt.Sprintf("%s failed its probes and its lease ran out at %s", st.Primary, st.LeaseUntil.Format(time.RFC3339Nano))
	}
	_ = w.promote(ctx, t, to, "automatic", reason)
}

// best is the healthy region with the lowest priority number.
func (t *table) best() *endpoint {
	for _, e := range t.eps {
		if e.usable() {
			return e
		}
	}
	return nil
}

// renew extends the primary's lease. No lease runs past the bound stored
// in the control KV (LeaseUntil); the bound is moved ahead, by
// ControlOutage, before the lease could reach it, so a control cluster
// that cannot take writes for a while (a leader election) does not cost
// the primary its lease, and a decider that takes over knows how long any
// grant it did not see can run.
func (w *witness) renew(ctx context.Context, t *table, e *endpoint) {
	tr := t.top.Traffic
	now := w.m.clk.Now()
	until := now.Add(tr.Lease)
	st := w.state()
	if st.LeaseUntil.Before(until.Add(tr.ControlOutage / 2)) {
		next := st
		next.LeaseUntil = until.Add(tr.ControlOutage)
		if err := w.save(ctx, next); err != nil {
			w.m.log.Warn("lease bound not moved ahead; renewing within the stored bound", "region", e.name(), "bound", st.LeaseUntil, "err", err)
		}
		st = w.state()
	}
	if st.Epoch != w.state().Epoch || !now.Before(st.LeaseUntil) {
		w.m.log.Error("lease renewal not sent: the stored bound has passed", "region", e.name(), "bound", st.LeaseUntil)
		return
	}
	if until.After(st.LeaseUntil) {
		until = st.LeaseUntil
	}
	w.noteGrant(until)
	w.grant(ctx, t, e, role.Request{Role: role.Primary, Epoch: st.Epoch, LeaseUntil: until})
}

// grant sends one role to one region and records how it went.
func (w *witness) grant(ctx context.Context, t *table, e *endpoint, req role.Request) bool {
	s, err := w.rc.post(ctx, e, req, w.callTimeout(t))
	if se, ok := asStale(err); ok {
		w.conflict(ctx, t, e, req, se)
	}
	if err == nil && s.Role == role.Primary && s.Epoch == req.Epoch {
		w.noteGrant(s.LeaseUntil) // the lease the region holds, which may be longer than asked (leases only grow)
	}
	w.noteRefusal(e, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.roleErr[e.name()] != err.Error() {
			w.m.log.Warn("role not granted", "region", e.name(), "role", req.Role, "epoch", req.Epoch, "err", err)
		}
		w.roleErr[e.name()] = err.Error()
		return false
	}
	delete(w.roleErr, e.name())
	w.confirmed[e.name()] = req.Epoch
	w.m.metrics.roleGranted(e.name(), string(req.Role))
	return true
}

func (w *witness) callTimeout(t *table) time.Duration {
	return min(t.top.Traffic.Lease/4, 2*time.Second)
}

// notifySecondaries tells every up region but the primary that it is
// secondary at the current epoch, until it has said yes, and again when
// its probes show an older epoch (a region restarted or rebuilt on an
// empty data directory since it said yes).
func (w *witness) notifySecondaries(ctx context.Context, t *table) {
	st := w.state()
	var wg sync.WaitGroup
	for _, e := range t.eps {
		if e.name() == st.Primary || w.knowsItsRole(e, st.Epoch) || !e.health.up.Load() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.grant(ctx, t, e, role.Request{Role: role.Secondary, Epoch: st.Epoch, Primary: st.Primary})
		}()
	}
	wg.Wait()
}

// knowsItsRole: the region confirmed the current epoch and its probes do
// not report an older one since.
func (w *witness) knowsItsRole(e *endpoint, epoch uint64) bool {
	if w.confirmedAt(e.name()) != epoch {
		return false
	}
	v := e.health.view()
	return v.RegionRole == "" || v.RegionEpoch >= epoch
}

func (w *witness) confirmedAt(name string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.confirmed[name]
}

// conflict handles a region refusing a role. A newer epoch there means this
// witness is behind (its state was lost or restored from a backup): it
// adopts that epoch, fences for a whole lease, and promotes afresh. The
// primary refusing its own epoch means it stepped down: promote afresh.
func (w *witness) conflict(ctx context.Context, t *table, e *endpoint, req role.Request, se *staleError) {
	cur := se.Current
	w.m.log.Warn("region refused role: stale epoch", "region", e.name(), "role", req.Role, "epoch", req.Epoch,
		"regionRole", cur.Role, "regionEpoch", cur.Epoch)
	st := w.state()
	if cur.Epoch > st.Epoch {
		next := st
		next.Epoch = cur.Epoch
		next.LeaseUntil = latest(next.LeaseUntil, cur.LeaseUntil, w.m.clk.Now().Add(t.top.Traffic.Lease))
		if err := w.save(ctx, next); err != nil {
			w.m.log.Error("witness state not saved", "err", err)
			return
		}
		w.setLost(fmt.Sprintf("region %s holds epoch %d, newer than this witness's: resync", e.name(), cur.Epoch))
		return
	}
	if e.name() == st.Primary && req.Role == role.Primary {
		w.setLost(fmt.Sprintf("primary %s refused its lease at epoch %d (it is %s)", e.name(), req.Epoch, cur.Role))
	}
}

func (w *witness) setLost(why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lost = why
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func (w *witness) lostReason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

func (w *witness) setState(st roleState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st = st
}

func (w *witness) setStalled(why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stalled != why && why != "" {
		w.m.log.Info("witness waiting", "why", why)
	}
	w.stalled = why
}
