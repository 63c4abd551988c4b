package traffic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

// promote makes to the primary at epoch+1: saved to disk first, then
// granted, then the others are told they are secondary.
func (w *witness) promote(ctx context.Context, t *table, to *endpoint, kind, reason string) error {
	now := w.m.clk.Now()
	w.mu.Lock()
	next := w.st
	f := Failover{At: now, From: next.Primary, To: to.name(), Epoch: next.Epoch + 1, Kind: kind, Reason: reason}
	if kind == "initial" {
		f.From = ""
	}
	next.Primary, next.Epoch = to.name(), next.Epoch+1
	next.LeaseUntil = latest(next.LeaseUntil, now.Add(t.top.Traffic.Lease+t.top.Traffic.ControlOutage))
	f.Decider = w.m.id
	next.Record(f)
	w.mu.Unlock()
	if err := w.save(ctx, next); err != nil {
		w.m.log.Error("failover not made: state not saved", "to", to.name(), "err", err)
		return err
	}
	w.mu.Lock()
	w.lost, w.stalled, w.granted, w.foreign = "", "", now.Add(t.top.Traffic.Lease), time.Time{}
	w.mu.Unlock()
	level := slog.LevelWarn
	if kind == "initial" {
		level = slog.LevelInfo
	}
	w.m.log.Log(ctx, level, "failover", "kind", f.Kind, "from", f.From, "to", f.To, "epoch", f.Epoch, "reason", f.Reason)
	w.m.metrics.failover(f)
	w.grant(ctx, t, to, role.Request{Role: role.Primary, Epoch: next.Epoch, LeaseUntil: now.Add(t.top.Traffic.Lease)})
	w.notifySecondaries(ctx, t)
	return nil
}

// Errors of a manual failover; the admin API maps them to statuses.
var (
	ErrUnknownRegion  = errors.New("no such region")
	ErrNotHealthy     = errors.New("region is not healthy")
	ErrNotSteppedDown = errors.New("old primary did not confirm it stepped down")
)

// failover moves the primary role to the named region on an operator's
// request. Planned: the old primary must confirm it stepped down (secondary
// at the current epoch) first, or nothing changes. Unplanned: it is asked
// to, and when it does not answer the witness waits out its lease.
func (w *witness) failover(ctx context.Context, to string, planned bool) (Failover, error) {
	t := w.m.table()
	target := t.byName[to]
	switch {
	case target == nil:
		return Failover{}, fmt.Errorf("failover to %q: %w", to, ErrUnknownRegion)
	case !target.usable():
		return Failover{}, fmt.Errorf("failover to %s: %w (%s)", to, ErrNotHealthy, target.health.view().Reason)
	}
	w.opMu.Lock()
	defer w.opMu.Unlock()
	st := w.state()
	if st.Primary == to && st.Epoch > 0 && w.lostReason() == "" {
		return Failover{}, nil
	}
	if err := w.stepDown(ctx, t, st, planned); err != nil {
		return Failover{}, err
	}
	if !target.usable() {
		return Failover{}, fmt.Errorf("failover to %s: %w (%s)", to, ErrNotHealthy, target.health.view().Reason)
	}
	kind, reason := "manual", "operator request; old lease ran out or step-down confirmed"
	if planned {
		kind, reason = "planned", "operator request; old primary confirmed it stepped down"
	}
	if err := w.promote(ctx, t, target, kind, reason); err != nil {
		return Failover{}, fmt.Errorf("failover to %s: %w", to, err)
	}
	h := w.state().History
	return h[len(h)-1], nil
}

// stepDown asks the old primary to become secondary at the current epoch.
// Planned failovers need its yes; unplanned ones otherwise wait out the
// lease (plus margin) the witness granted it.
func (w *witness) stepDown(ctx context.Context, t *table, st roleState, planned bool) error {
	old := t.byName[st.Primary]
	err := fmt.Errorf("%s is not in the configuration", st.Primary)
	if old != nil && st.Epoch > 0 {
		err = w.askStepDown(ctx, t, old, st.Epoch, planned)
	}
	if err == nil || st.Epoch == 0 {
		return nil
	}
	if planned {
		return fmt.Errorf("planned failover: %w: %v; nothing changed", ErrNotSteppedDown, err)
	}
	fenceEnd := w.leaseEnd().Add(t.top.Traffic.LeaseMargin)
	w.m.log.Info("manual failover waits for the old lease", "old", st.Primary, "until", fenceEnd, "stepDownErr", err)
	return w.sleepUntil(ctx, fenceEnd)
}

// askStepDown posts secondary to old, retrying for up to one lease when
// planned (a busy primary may be slow to answer).
func (w *witness) askStepDown(ctx context.Context, t *table, old *endpoint, epoch uint64, planned bool) error {
	deadline := w.m.clk.Now().Add(t.top.Traffic.Lease)
	for {
		s, err := w.rc.post(ctx, old, role.Request{Role: role.Secondary, Epoch: epoch}, w.callTimeout(t))
		if err == nil && s.Role == role.Secondary {
			w.mu.Lock()
			w.confirmed[old.name()] = epoch
			w.mu.Unlock()
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%s answered role %s", old.name(), s.Role)
		}
		if _, stale := asStale(err); stale || !planned || !w.m.clk.Now().Before(deadline) {
			return err
		}
		if serr := w.sleepUntil(ctx, w.m.clk.Now().Add(t.top.Traffic.Lease/8)); serr != nil {
			return serr
		}
	}
}

// sleepUntil waits on the injected clock.
func (w *witness) sleepUntil(ctx context.Context, at time.Time) error {
	d := at.Sub(w.m.clk.Now())
	if d <= 0 {
		return nil
	}
	timer := w.m.clk.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("failover: %w", ctx.Err())
	case <-timer.C():
		return nil
	}
}
