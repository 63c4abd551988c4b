package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrRenewalPending is a holder's renewal that could not be written
// although the lock could be read: the holder keeps it (Try says it
// holds) while the cluster elects a leader.
var ErrRenewalPending = errors.New("decider lock held; renewal not written")

// Campaign is one traffic manager's bid for the decider lock. The lock is
// the decider key; its holder rewrites it every renewal period. Another
// manager takes it only after it has seen the same revision of the key,
// unchanged, for TTL by its own clock, so clocks of different machines
// never have to agree. Safety does not rest on the lock: every decision
// is a compare-and-set on the role key, and a stale decider's write loses.
type Campaign struct {
	s   *Store
	id  string
	ttl time.Duration

	seenRev uint64    // the holder's revision as last observed
	seenAt  time.Time // when it was first observed
}

// NewCampaign returns id's campaign for the lock with the given TTL.
func (s *Store) NewCampaign(id string, ttl time.Duration) *Campaign {
	return &Campaign{s: s, id: id, ttl: ttl}
}

// Try takes or renews the lock at now. It returns whether id holds it and
// who does. An error (the quorum unreachable, a timeout) means id must not
// decide.
func (c *Campaign) Try(ctx context.Context, now time.Time) (bool, Decider, error) {
	d, rev, err := c.read(ctx)
	if err != nil {
		return false, Decider{}, err
	}
	switch {
	case rev == 0:
		return c.write(ctx, Decider{ID: c.id, Since: now, Until: now.Add(c.ttl)}, 0)
	case d.ID == c.id:
		d.Until = now.Add(c.ttl)
		holds, holder, err := c.write(ctx, d, rev)
		if err != nil && !errors.Is(err, ErrConflict) {
			// The cluster answered the read: it is reachable but cannot
			// take writes (a leader election). Nobody else can write
			// either, so the lock is still this manager's.
			return true, d, fmt.Errorf("%w: %w", ErrRenewalPending, err)
		}
		return holds, holder, err
	case rev != c.seenRev:
		c.seenRev, c.seenAt = rev, now
		return false, d, nil
	case now.Sub(c.seenAt) < c.ttl:
		return false, d, nil
	}
	took, holder, err := c.write(ctx, Decider{ID: c.id, Since: now, Until: now.Add(c.ttl)}, rev)
	if took {
		c.s.opts.Logger.Warn("decider lock taken over", "from", d.ID, "to", c.id, "silentFor", now.Sub(c.seenAt).Round(time.Millisecond))
	}
	return took, holder, err
}

func (c *Campaign) read(ctx context.Context) (Decider, uint64, error) {
	ctx, cancel := c.s.call(ctx)
	defer cancel()
	e, err := c.s.kv.Get(ctx, keyDecider)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Decider{}, 0, nil
	}
	if err != nil {
		return Decider{}, 0, fmt.Errorf("control decider get: %w", err)
	}
	var d Decider
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return Decider{}, 0, fmt.Errorf("control decider decode: %w", err)
	}
	return d, e.Revision(), nil
}

// write sets the lock at rev; losing the race is not an error.
func (c *Campaign) write(ctx context.Context, d Decider, rev uint64) (bool, Decider, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return false, Decider{}, fmt.Errorf("control decider: %w", err)
	}
	if _, err := c.s.cas(ctx, keyDecider, b, rev); err != nil {
		if errors.Is(err, ErrConflict) {
			holder, _, rerr := c.read(ctx)
			return false, holder, rerr
		}
		return false, Decider{}, fmt.Errorf("control decider claim: %w", err)
	}
	return true, d, nil
}

// Release gives the lock up (at shutdown) so another manager takes over
// at once instead of after TTL. It does nothing unless id holds it.
func (c *Campaign) Release(ctx context.Context) error {
	d, rev, err := c.read(ctx)
	if err != nil || rev == 0 || d.ID != c.id {
		return err
	}
	ctx, cancel := c.s.call(ctx)
	defer cancel()
	if err := c.s.kv.Delete(ctx, keyDecider, jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("control decider release: %w", err)
	}
	return nil
}
