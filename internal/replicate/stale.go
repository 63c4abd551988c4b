package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// With three or more regions a secondary that followed a primary which
// failed holds mirrors of the failed region (stale mirrors) when another
// secondary is promoted. Before the Mirrorer replaces a stale mirror with
// a mirror of the new primary (retargetStale), it writes the mirror's
// tail into the new primary, as a returning old primary's own tail is
// (RescueTail): what this region stored after the new primary's mirror
// stopped at its promotion. With --sync-standbys one or quorum a write was
// acknowledged once some standbys stored it, not necessarily the one
// promoted; deleting this mirror unrescued would lose it.
//
// The tail of a stale mirror differs from a region's own in one way: a
// work queue's mirror keeps every message it saw, processed or not, so
// the messages the failed primary recorded as processed (its progress
// bucket, mirrored here too and retargeted last) are skipped.

// rescuedRecord is left in the new primary's progress bucket (key
// rescuedKey(target)) once a stale mirror's tail was rescued: the failed
// region's own RescueTail, when it returns, starts after Through, so what
// was rescued once is not republished after the dedupe window.
type rescuedRecord struct {
	Stream  string    `json:"stream"` // target in the new primary
	Origin  string    `json:"origin"` // the failed region's stream
	From    string    `json:"from"`   // the failed region
	Through uint64    `json:"through"`
	By      string    `json:"by"` // the region whose stale mirror it was
	At      time.Time `json:"at"`
}

func rescuedKey(stream string) string { return "rescued." + stream }

// staleRescueTimeout bounds one stale mirror's rescue, so a new primary
// that fails mid-way does not hold the Mirrorer's loop (it retries at the
// next poll, or a newer role replaces the Mirrorer).
const staleRescueTimeout = 30 * time.Second

// errStaleNotRescued: a stale mirror stays until its tail is rescued.
var errStaleNotRescued = errors.New("tail not rescued")

// rescueIfStale rescues local's tail when it is a stale mirror. The
// progress mirror is not rescued (it describes the failed region's
// sequences) and is retargeted only after every other stale mirror
// (ensureAll orders it last).
func (m *Mirrorer) rescueIfStale(ctx context.Context, local string, kind Kind) error {
	if kind == KindProgress {
		return nil
	}
	st, err := m.local.Stream(ctx, local)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stale mirror %s: %w", local, err)
	}
	info := st.CachedInfo()
	if !isStaleMirror(info.Config, m.opts.Primary) {
		return nil
	}
	if err := m.rescueStale(ctx, info, kind); err != nil {
		return fmt.Errorf("stale mirror %s: %w into %s before retargeting: %w", local, errStaleNotRescued, m.opts.Primary, err)
	}
	return nil
}

// rescueStale writes a stale mirror's tail into the new primary and
// records how far it went.
func (m *Mirrorer) rescueStale(ctx context.Context, info *jetstream.StreamInfo, kind Kind) error {
	ctx, cancel := context.WithTimeout(ctx, staleRescueTimeout)
	defer cancel()
	r, err := newRescuer(RescueOptions{Broker: m.opts.Broker, NewPrimary: m.opts.Primary, Logger: m.opts.Logger})
	if err != nil {
		return err
	}
	kv, why := r.promotedProgress(ctx)
	if kv == nil {
		return fmt.Errorf("%s has not finished promoting: %s", m.opts.Primary, why)
	}
	r.progress = kv
	origin, from, _ := originOf(info.Config)
	l := line{region: from, stream: origin}
	if kind == KindQueue {
		if l.done, err = m.staleDone(ctx, info.Config.Name); err != nil {
			return err
		}
	}
	rs := RescuedStream{Stream: info.Config.Name, Target: rename(info.Config.Name, m.region, m.opts.Primary), Kind: kind, From: 1, since: 1}
	if err := r.rescueStream(ctx, info, &rs, l); err != nil {
		return err
	}
	r.log.Info("stale mirror's tail rescued", "stream", rs.Stream, "origin", origin, "failed", from, "target", rs.Target,
		"from", rs.From, "through", info.State.LastSeq, "tail", rs.Tail, "processed", rs.Processed,
		"republished", rs.Republished, "duplicates", rs.Duplicates, "applied", rs.Applied, "conflicts", len(rs.Conflicts))
	if info.State.LastSeq < rs.From {
		return nil // the new primary had everything
	}
	return r.recordRescued(ctx, rescuedRecord{Stream: rs.Target, Origin: origin, From: from, Through: info.State.LastSeq, By: m.region, At: m.opts.Clock.Now().UTC()})
}

// staleDone reads, from this region's progress mirror (still the failed
// region's), what that region recorded as processed in a queue.
func (m *Mirrorer) staleDone(ctx context.Context, stream string) (*record, error) {
	app, queue, ok := queueOf(m.region, stream)
	if !ok {
		return nil, fmt.Errorf("queue stream name %q", stream)
	}
	st, err := m.local.Stream(ctx, kvStream(ProgressBucket(m.region)))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil // nothing recorded: every tail message is republished
	}
	if err != nil {
		return nil, fmt.Errorf("progress mirror: %w", err)
	}
	raw, err := st.GetLastMsgForSubject(ctx, "$KV."+ProgressBucket(m.region)+"."+progressKey(app, queue))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("progress of %s: %w", stream, err)
	}
	rec, err := decodeRecord(raw.Data)
	if err != nil {
		return nil, fmt.Errorf("progress of %s: %w", stream, err)
	}
	return &rec, nil
}

// recordRescued stores rec, keeping the highest Through ever recorded.
func (r *rescuer) recordRescued(ctx context.Context, rec rescuedRecord) error {
	if prev, ok := r.loadRescued(ctx, rec.Stream); ok && prev.Origin == rec.Origin && prev.Through >= rec.Through {
		return nil
	}
	data, _ := json.Marshal(rec) // plain struct
	if _, err := r.progress.Put(ctx, rescuedKey(rec.Stream), data); err != nil {
		return fmt.Errorf("record the rescue of %s: %w", rec.Stream, err)
	}
	return nil
}

// loadRescued reads the rescue record of stream, if any.
func (r *rescuer) loadRescued(ctx context.Context, stream string) (rescuedRecord, bool) {
	e, err := r.progress.Get(ctx, rescuedKey(stream))
	if err != nil {
		return rescuedRecord{}, false
	}
	var rec rescuedRecord
	if json.Unmarshal(e.Value(), &rec) != nil {
		return rescuedRecord{}, false
	}
	return rec, true
}

// rescuedThrough is the last sequence of l's stream that a stale mirror
// already rescued into one of names (the new primary's line), or 0.
func (r *rescuer) rescuedThrough(ctx context.Context, names []string, l line) uint64 {
	var through uint64
	for _, n := range names {
		if rec, ok := r.loadRescued(ctx, n); ok && rec.Origin == l.stream && rec.From == l.region {
			through = max(through, rec.Through)
		}
	}
	return through
}
