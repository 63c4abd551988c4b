package traffic

import (
	"context"
	"errors"
	"time"

	"github.com/tandemhq/tandem/internal/control"
)

// The witness's side of the control cluster: reading and writing the
// role state with compare-and-set, the decider lock, heartbeats, what it
// granted, and regions that refuse its grants.

// deciderTTL is how long the decider lock outlives its holder's last
// renewal: two of its renewal periods (lease/4). Another manager, ticking
// every lease/8, takes over at most lease/8 + TTL + lease/8 = 3/4 lease
// after the last renewal, before the lease that renewal granted runs out.
func deciderTTL(lease time.Duration) time.Duration { return lease / 2 }

// save writes next to the control KV at the revision the witness last
// read; only then does it become the witness's state. A write that lost
// (another decider wrote meanwhile) or failed rereads the stored state.
func (w *witness) save(ctx context.Context, next roleState) error {
	w.mu.Lock()
	rev := w.rev
	w.mu.Unlock()
	next.Decider = w.m.id
	nrev, err := w.ctl.SetRole(ctx, next, rev)
	if err != nil {
		if errors.Is(err, control.ErrConflict) {
			w.deciding.Store(false) // another decider wrote: reread, decide again next tick
		} else {
			w.noteControl(err)
		}
		w.refresh(ctx)
		return err
	}
	w.mu.Lock()
	w.st, w.rev = next, nrev
	w.mu.Unlock()
	w.primary.Store(&next.Primary)
	return nil
}

// refresh adopts the stored state when it changed since last read.
func (w *witness) refresh(ctx context.Context) {
	st, rev, found, err := w.ctl.Role(ctx)
	if err != nil {
		w.noteControl(err)
		return
	}
	if !found {
		return
	}
	w.mu.Lock()
	changed := rev != w.rev
	if changed {
		if st.Epoch != w.st.Epoch {
			w.lost, w.stalled, w.granted, w.foreign = "", "", time.Time{}, time.Time{}
		}
		w.st, w.rev, w.foreign = st, rev, latest(w.foreign, st.LeaseUntil)
	}
	w.mu.Unlock()
	if changed {
		w.primary.Store(&st.Primary)
	}
}

func (w *witness) noteControl(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if old := w.ctlErr.Swap(&msg); (old == nil || *old == "") && msg != "" {
		w.m.log.Warn("control cluster unreachable: not deciding; routing on the last known state", "err", err)
	} else if old != nil && *old != "" && msg == "" {
		w.m.log.Info("control cluster reachable again")
	}
}

// campaign takes or renews the decider lock; it reports whether this
// manager decides now. Any error means it does not.
func (w *witness) campaign(ctx context.Context) bool {
	holds, d, err := w.camp.Try(ctx, w.m.clk.Now())
	w.noteControl(err)
	if err == nil || errors.Is(err, control.ErrRenewalPending) {
		w.decider.Store(&d)
	} else {
		holds = false
	}
	was := w.deciding.Swap(holds)
	switch {
	case holds && !was:
		w.m.log.Info("deciding: this traffic manager holds the decider lock", "id", w.m.id)
	case !holds && was:
		w.m.log.Warn("no longer deciding", "id", w.m.id, "decider", d.ID, "err", err)
	}
	return holds
}

// beat records this manager in the control KV about once a second.
func (w *witness) beat(ctx context.Context) {
	now := w.m.clk.Now()
	if now.Sub(w.lastBeat) < time.Second {
		return
	}
	w.lastBeat = now
	info := control.Manager{ID: w.m.id, SeenAt: now}
	if w.m.httpLn != nil {
		info.HTTP, info.Admin, info.DNS = w.m.HTTPAddr(), w.m.AdminAddr(), w.m.DNSAddr()
	}
	if err := w.ctl.Beat(ctx, info); err != nil {
		w.noteControl(err)
	}
}

// noteGrant remembers the latest lease granted at the current epoch
// (before it is sent: a grant whose answer is lost may still be held).
func (w *witness) noteGrant(until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.granted = latest(w.granted, until)
}

// leaseEnd is the latest any lease at the current epoch may run: what this
// witness granted, and the bound stored by whoever wrote before it.
func (w *witness) leaseEnd() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return latest(w.granted, w.foreign)
}

// noteRefusal marks a region that refuses role grants with the admin key
// (401 even after rereading it) unusable, loudly: it must not stay primary
// on a lease nobody can renew, nor take traffic it could not write for.
// A grant that succeeds clears the mark.
func (w *witness) noteRefusal(e *endpoint, err error) {
	switch {
	case errors.Is(err, errUnauthorized):
		why := "refuses role grants: " + err.Error()
		if old := e.refused.Swap(&why); old == nil {
			w.m.log.Error("region refuses role grants with the configured admin key: taken out of rotation until it accepts one", "region", e.name(), "err", err)
			w.m.metrics.refused(e.name(), true)
		}
	case err == nil:
		if e.refused.Swap(nil) != nil {
			w.m.log.Info("region accepts role grants again", "region", e.name())
			w.m.metrics.refused(e.name(), false)
		}
	}
}

// reloadKeys rereads every region's key, so a rotation is picked up
// before the next grant fails.
func (w *witness) reloadKeys(t *table) {
	for _, e := range t.eps {
		if e.reloadKey() {
			w.m.log.Info("region admin key reloaded", "region", e.name())
		}
	}
}
