package timer

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// holds reports whether this node's lease is valid at now by its clock.
func (t *timer) holds(now time.Time) bool { return t.hold != nil && now.Before(t.hold.until) }

// renewAt is when the held lease should be renewed (a third of the way
// through), or zero.
func (t *timer) renewAt() time.Time {
	if t.hold == nil {
		return time.Time{}
	}
	return t.hold.until.Add(-2 * t.s.opts.LeaseTTL / 3)
}

// ensureLease makes sure this node holds the timer's lease. When it does
// not (another node holds it, or a write raced), it returns when to look
// again and false. Gaining the lease means the timer starts here, so the
// next step reconciles the stored status first.
func (t *timer) ensureLease(now time.Time) (time.Time, bool) {
	if t.holds(now) && now.Before(t.renewAt()) {
		return time.Time{}, true
	}
	ok, until, err := t.claim(now)
	if err != nil {
		t.owner = false
		return t.retry(now, "lease", err), false
	}
	if !ok {
		t.owner = false
		if until.IsZero() {
			return t.again(now), false
		}
		if max := now.Add(t.s.opts.LeaseTTL); until.After(max) {
			until = max
		}
		return until, false
	}
	if !t.owner {
		t.owner, t.resume = true, true
	}
	return time.Time{}, true
}

// claim renews this node's lease or takes a free or expired one, by
// compare-and-set on the lease key. It returns false with the holder's
// expiry when another node holds it, or with zero after a lost race.
func (t *timer) claim(now time.Time) (bool, time.Time, error) {
	next := lease{Holder: t.s.opts.NodeID, Until: now.Add(t.s.opts.LeaseTTL), Epoch: t.epoch}
	if t.hold != nil {
		rev, err := t.s.store.putLease(t.ctx, t.key, next, t.hold.rev)
		if err == nil {
			t.hold = &holding{rev: rev, until: next.Until}
			return true, time.Time{}, nil
		}
		t.hold = nil
		if !errors.Is(err, errConflict) {
			return false, time.Time{}, err
		}
	}
	cur, rev, err := t.s.store.getLease(t.ctx, t.key)
	if err != nil {
		return false, time.Time{}, err
	}
	if cur != nil && cur.Holder != t.s.opts.NodeID && now.Before(cur.Until) {
		return false, cur.Until, nil
	}
	nrev, err := t.s.store.putLease(t.ctx, t.key, next, rev)
	if errors.Is(err, errConflict) {
		return false, time.Time{}, nil
	}
	if err != nil {
		return false, time.Time{}, err
	}
	t.hold = &holding{rev: nrev, until: next.Until}
	return true, time.Time{}, nil
}

// keepLease renews the lease while an invocation runs, so that no other
// node starts the next tick before this run has ended.
func (t *timer) keepLease(now time.Time) time.Time {
	if t.hold == nil {
		return now.Add(t.s.opts.LeaseTTL)
	}
	if !now.Before(t.renewAt()) {
		if ok, _, err := t.claim(now); !ok {
			t.owner = false
			t.log.Warn("timer lease lost while a run is in progress; another node may start the next tick", "err", err)
			return now.Add(t.s.opts.LeaseTTL)
		}
	}
	return t.renewAt()
}

// release gives the lease up (compare-and-set delete) so another node can
// take the timer at once; the next holder reconciles the status.
func (t *timer) release() {
	if t.hold == nil {
		t.owner = false
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.s.store.timeout)
	defer cancel()
	if err := t.s.store.deleteLease(ctx, t.key, t.hold.rev); err != nil && !errors.Is(err, errConflict) {
		t.log.Warn("timer lease release", "err", err)
	}
	t.hold, t.owner = nil, false
}

// watchLeases pokes a timer as soon as another node releases its lease,
// so a graceful hand-over does not wait for expiry.
func (s *Scheduler) watchLeases(w jetstream.KeyWatcher) {
	defer s.wg.Done()
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-s.loopCtx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				s.pokeKey(e.Key())
			}
		}
	}
}

func (s *Scheduler) pokeKey(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.timers[k]; t != nil {
		t.poke()
	}
}
