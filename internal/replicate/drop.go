package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// promotion is the record Promote leaves for each promoted stream in the
// promoted region's progress bucket (key promotedKey(stream)).
type promotion struct {
	Stream  string    `json:"stream"`
	Origin  string    `json:"origin"`
	From    string    `json:"from"`
	LastSeq uint64    `json:"lastSeq"`
	At      time.Time `json:"at"`
}

// markerKey holds a region's last completed promotion (a marker): written
// once every mirror is promoted, so a returning old primary knows when it
// may rescue its tail into this region.
const markerKey = "promotion"

// marker is the value under markerKey.
type marker struct {
	From    string    `json:"from"`
	At      time.Time `json:"at"`
	Streams int       `json:"streams"`
}

func (p *promoter) markPromoted(ctx context.Context) error {
	data, _ := json.Marshal(marker{From: p.opts.Primary, At: p.opts.Clock.Now().UTC(), Streams: len(p.report.Streams)})
	if _, err := p.progress.Put(ctx, markerKey, data); err != nil {
		return fmt.Errorf("record the promotion: %w", err)
	}
	return nil
}

func decodeMarker(data []byte) (marker, error) {
	var m marker
	if err := json.Unmarshal(data, &m); err != nil {
		return marker{}, fmt.Errorf("promotion marker: %w", err)
	}
	return m, nil
}

func decodePromotion(data []byte) (promotion, error) {
	var p promotion
	if err := json.Unmarshal(data, &p); err != nil {
		return promotion{}, fmt.Errorf("promotion record: %w", err)
	}
	if p.Stream == "" || p.From == "" {
		return promotion{}, errors.New("promotion record: stream and from are required")
	}
	return p, nil
}

func (p *promoter) recordPromotion(ctx context.Context, ps *PromotedStream) error {
	rec := promotion{Stream: ps.Stream, Origin: ps.Origin, From: p.opts.Primary, LastSeq: ps.LastSeq, At: p.opts.Clock.Now().UTC()}
	data, _ := json.Marshal(rec) // plain struct
	if _, err := p.progress.Put(ctx, promotedKey(ps.Stream), data); err != nil {
		return fmt.Errorf("record promotion of %s: %w", ps.Stream, err)
	}
	return nil
}

// dropProcessed removes from a queue mirror what the old primary recorded
// as processed, then rewrites the queue's progress record clamped to the
// mirror's last sequence (later sequences will name new messages).
func (p *promoter) dropProcessed(ctx context.Context, info *jetstream.StreamInfo, ps *PromotedStream) error {
	app, queue, ok := queueOf(p.region, info.Config.Name)
	if !ok {
		return fmt.Errorf("queue stream name %q", info.Config.Name)
	}
	key := progressKey(app, queue)
	rec, _, err := loadRecord(ctx, p.progress, key)
	if err != nil {
		return err
	}
	rec.clamp(ps.LastSeq)
	st, err := p.js.Stream(ctx, info.Config.Name)
	if err != nil {
		return fmt.Errorf("open %s: %w", info.Config.Name, err)
	}
	if err := dropDone(ctx, st, rec); err != nil {
		return fmt.Errorf("drop processed messages of %s: %w", info.Config.Name, err)
	}
	after, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info %s: %w", info.Config.Name, err)
	}
	ps.Floor, ps.Kept = rec.Floor, after.State.Msgs
	ps.Dropped = info.State.Msgs - min(after.State.Msgs, info.State.Msgs)
	if _, err := p.progress.Put(ctx, key, encodeRecord(rec)); err != nil {
		return fmt.Errorf("rewrite progress of %s: %w", key, err)
	}
	return nil
}

// dropDone purges up to the floor and deletes each recorded sequence
// still present, visiting only stored messages inside the ranges.
func dropDone(ctx context.Context, st jetstream.Stream, rec record) error {
	if rec.Floor > 0 {
		if err := st.Purge(ctx, jetstream.WithPurgeSequence(rec.Floor+1)); err != nil {
			return fmt.Errorf("purge to %d: %w", rec.Floor, err)
		}
	}
	for _, a := range rec.Acked {
		if err := deleteRange(ctx, st, a[0], a[1]); err != nil {
			return err
		}
	}
	return nil
}

func deleteRange(ctx context.Context, st jetstream.Stream, lo, hi uint64) error {
	for seq := lo; seq <= hi; {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find message at or after %d: %w", seq, err)
		}
		if raw.Sequence > hi {
			return nil
		}
		if err := st.DeleteMsg(ctx, raw.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("delete %d: %w", raw.Sequence, err)
		}
		seq = raw.Sequence + 1
	}
	return nil
}

// loadRecord reads a progress record; a missing key is an empty record.
func loadRecord(ctx context.Context, kv jetstream.KeyValue, key string) (record, uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, 0, nil
	}
	if err != nil {
		return record{}, 0, fmt.Errorf("read progress %s: %w", key, err)
	}
	r, err := decodeRecord(e.Value())
	if err != nil {
		return record{}, 0, fmt.Errorf("progress %s: %w", key, err)
	}
	return r, e.Revision(), nil
}

// openProgressBucket opens a region's progress bucket as it is, or
// creates it. It never reconfigures an existing bucket: in a secondary
// that would turn its mirror into a writable bucket.
func openProgressBucket(ctx context.Context, js jetstream.JetStream, region string, replicas int) (jetstream.KeyValue, error) {
	name := ProgressBucket(region)
	kv, err := js.KeyValue(ctx, name)
	if err == nil {
		return kv, notMirror(ctx, kv)
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: "queue processing progress (ack floor and out-of-order acks), mirrored to secondaries",
		History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return kv, nil
}

// notMirror fails for a bucket that is a mirror: writes to it would go to
// its origin, in another region.
func notMirror(ctx context.Context, kv jetstream.KeyValue) error {
	st, err := kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("bucket %s status: %w", kv.Bucket(), err)
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && bs.StreamInfo().Config.Mirror != nil {
		return fmt.Errorf("bucket %s is a mirror: this region is a secondary", kv.Bucket())
	}
	return nil
}
