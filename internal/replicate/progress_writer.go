package replicate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// writeTimeout bounds one progress write.
const writeTimeout = 5 * time.Second

// run writes dirty records whenever acks arrive, and compacts every
// CompactInterval.
func (p *Progress) run(ctx context.Context) {
	defer p.wg.Done()
	t := p.opts.Clock.NewTimer(p.opts.CompactInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C():
			p.compact(ctx)
			t.Reset(p.opts.CompactInterval)
		}
		p.writeDirty(ctx)
	}
}

// writeDirty stores every dirty record, then signals the pass.
func (p *Progress) writeDirty(ctx context.Context) {
	var errs []error
	for _, key := range p.dirtyKeys() {
		if err := p.write(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		p.log.Warn("progress not stored; retrying on the next ack or compaction", "err", err)
	}
	p.mu.Lock()
	p.err = err
	close(p.pass)
	p.pass = make(chan struct{})
	p.mu.Unlock()
}

func (p *Progress) dirtyKeys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k, q := range p.queues {
		if q.dirty() {
			out = append(out, k)
		}
	}
	return out
}

// write stores one queue's record with compare-and-set, merging with the
// stored record on conflict (another node of the region also records).
func (p *Progress) write(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	kv, err := p.bucket(ctx)
	if err != nil {
		return err
	}
	rec, rev, gen, err := p.snapshot(ctx, kv, key)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		newRev, err := putRecord(ctx, kv, key, rec, rev)
		if err == nil {
			p.stored(key, rec, newRev, gen)
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("store progress %s: %w", key, err)
		}
		stored, storedRev, lerr := loadRecord(ctx, kv, key)
		if lerr != nil {
			return lerr
		}
		rec.merge(stored)
		rev = storedRev
	}
}

func putRecord(ctx context.Context, kv jetstream.KeyValue, key string, r record, rev uint64) (uint64, error) {
	if rev == 0 {
		return kv.Create(ctx, key, encodeRecord(r))
	}
	return kv.Update(ctx, key, encodeRecord(r), rev)
}

// snapshot copies a queue's record, first merging the stored one if it
// was never read.
func (p *Progress) snapshot(ctx context.Context, kv jetstream.KeyValue, key string) (record, uint64, uint64, error) {
	p.mu.Lock()
	q := p.queues[key]
	loaded := q.loaded
	p.mu.Unlock()
	var stored record
	var rev uint64
	if !loaded {
		var err error
		if stored, rev, err = loadRecord(ctx, kv, key); err != nil {
			return record{}, 0, 0, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !loaded {
		q.rec.merge(stored)
		q.rev, q.loaded = rev, true
	}
	return record{Floor: q.rec.Floor, Acked: append([][2]uint64(nil), q.rec.Acked...)}, q.rev, q.gen, nil
}

// stored notes a successful write of the record as of gen.
func (p *Progress) stored(key string, rec record, rev, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queues[key]
	if q == nil {
		return // Reset meanwhile
	}
	q.rec.merge(rec)
	q.rev, q.written = rev, gen
}

// bucket opens the progress bucket once.
func (p *Progress) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	p.mu.Lock()
	kv := p.kv
	p.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	kv, err := openProgressBucket(ctx, p.js, p.opts.Broker.Region(), p.opts.Replicas)
	if err != nil {
		return nil, fmt.Errorf("progress: %w", err)
	}
	p.mu.Lock()
	p.kv = kv
	p.mu.Unlock()
	return kv, nil
}

// compact raises each queue's floor to its stream's first sequence minus
// one: everything below it is gone from the work queue (acknowledged,
// purged or expired), so the ranges above the floor stay few and cleared
// or expired messages do not come back after a promotion.
func (p *Progress) compact(ctx context.Context) {
	for key, q := range p.tracked() {
		first, ok := p.firstSeq(ctx, q.app, q.queue)
		if !ok || first == 0 {
			continue
		}
		p.mu.Lock()
		if cur := p.queues[key]; cur != nil {
			before := cur.rec.Floor
			cur.rec.raiseFloor(first - 1)
			if cur.rec.Floor != before {
				cur.gen++
			}
		}
		p.mu.Unlock()
	}
}

// tracked returns the app and queue of every queue with a record.
func (p *Progress) tracked() map[string]*queueProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]*queueProgress, len(p.queues))
	for k, q := range p.queues {
		out[k] = &queueProgress{app: q.app, queue: q.queue}
	}
	return out
}

func (p *Progress) firstSeq(ctx context.Context, app, queue string) (uint64, bool) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	st, err := p.js.Stream(ctx, p.opts.Broker.Name("Q", app, queue))
	if err != nil {
		return 0, false
	}
	return st.CachedInfo().State.FirstSeq, true
}
