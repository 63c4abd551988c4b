package traffic

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

// witness decides which region is primary. It grants the primary a lease
// through POST /admin/role and renews it every lease/4 while the primary is
// up; it tells every other region it is secondary. When the primary is down
// and the last lease it granted has run out by its own clock, plus a safety
// margin, it promotes the next healthy region by priority at epoch+1. The
// epoch and the latest lease are written to disk before any region hears
// of them, so a restarted witness neither reuses an epoch nor forgets a lease.
type witness struct {
	m     *Manager
	store *stateFile
	rc    *roleClient

	opMu sync.Mutex // one role operation at a time: a tick or a failover

	mu        sync.Mutex
	st        roleState
	lost      string            // why the primary lost its role although it may be up
	confirmed map[string]uint64 // region -> epoch at which it last accepted its role
	roleErr   map[string]string // region -> last role error
	stalled   string            // why no promotion could happen, for status

	primary atomic.Pointer[string] // read by routing on every request
	kick    chan struct{}
	kicks   atomic.Int64 // kicks sent and not yet handled (tests wait for 0)
}

func newWitness(m *Manager, dir string) *witness {
	return &witness{m: m, store: newStateFile(dir), rc: newRoleClient(), kick: make(chan struct{}, 1),
		confirmed: map[string]uint64{}, roleErr: map[string]string{}}
}

// load reads the stored role state; at first start the configured primary
// is the candidate for epoch 1.
func (w *witness) load(configured string) error {
	st, found, err := w.store.load()
	if err != nil {
		return err
	}
	if !found {
		st = roleState{Primary: configured}
	}
	w.st = st
	w.primary.Store(&st.Primary)
	return nil
}

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
	now, fenceEnd := w.m.clk.Now(), st.LeaseUntil.Add(tr.LeaseMargin)
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

// renew extends the primary's lease: first on disk, then at the region.
func (w *witness) renew(ctx context.Context, t *table, e *endpoint) {
	until := w.m.clk.Now().Add(t.top.Traffic.Lease)
	w.mu.Lock()
	next := w.st
	if until.After(next.LeaseUntil) {
		next.LeaseUntil = until
	}
	w.mu.Unlock()
	if err := w.store.save(next); err != nil {
		w.m.log.Error("lease renewal not sent: state not saved", "region", e.name(), "err", err)
		return
	}
	w.setState(next)
	w.grant(ctx, t, e, role.Request{Role: role.Primary, Epoch: next.Epoch, LeaseUntil: until})
}

// grant sends one role to one region and records how it went.
func (w *witness) grant(ctx context.Context, t *table, e *endpoint, req role.Request) bool {
	_, err := w.rc.post(ctx, e, req, w.callTimeout(t))
	if se, ok := asStale(err); ok {
		w.conflict(t, e, req, se)
	}
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
// secondary at the current epoch, until it has said yes once.
func (w *witness) notifySecondaries(ctx context.Context, t *table) {
	st := w.state()
	var wg sync.WaitGroup
	for _, e := range t.eps {
		if e.name() == st.Primary || w.confirmedAt(e.name()) == st.Epoch || !e.health.up.Load() {
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

func (w *witness) confirmedAt(name string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.confirmed[name]
}

// conflict handles a region refusing a role. A newer epoch there means this
// witness is behind (its state was lost or restored from a backup): it
// adopts that epoch, fences for a whole lease, and promotes afresh. The
// primary refusing its own epoch means it stepped down: promote afresh.
func (w *witness) conflict(t *table, e *endpoint, req role.Request, se *staleError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := se.Current
	w.m.log.Warn("region refused role: stale epoch", "region", e.name(), "role", req.Role, "epoch", req.Epoch,
		"regionRole", cur.Role, "regionEpoch", cur.Epoch)
	if cur.Epoch > w.st.Epoch {
		next := w.st
		next.Epoch = cur.Epoch
		next.LeaseUntil = latest(next.LeaseUntil, cur.LeaseUntil, w.m.clk.Now().Add(t.top.Traffic.Lease))
		if err := w.store.save(next); err != nil {
			w.m.log.Error("witness state not saved", "err", err)
			return
		}
		w.st = next
		w.lost = fmt.Sprintf("region %s holds epoch %d, newer than this witness's: resync", e.name(), cur.Epoch)
		return
	}
	if e.name() == w.st.Primary && req.Role == role.Primary {
		w.lost = fmt.Sprintf("primary %s refused its lease at epoch %d (it is %s)", e.name(), req.Epoch, cur.Role)
	}
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
