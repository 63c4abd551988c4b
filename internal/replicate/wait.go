package replicate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// WaitReplicated returns once every secondary stored sequence seq of
// stream (a stream of this region: a queue stream or a KV bucket's
// stream), or once seq is gone from stream (processed or overwritten
// before it was mirrored: nothing left to lose). It fails when ctx ends
// first: the write is stored in this region but not known to be in the
// secondary, so a sync-mode caller must report failure (a retry with the
// same message id is deduplicated).
func (w *Waiter) WaitReplicated(ctx context.Context, stream string, seq uint64) error {
	n := len(w.opts.Secondaries)
	if n == 0 {
		return ErrNoSecondaries
	}
	need := w.required()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the waits still running once enough stored
	results := make(chan error, n)
	for _, s := range w.opts.Secondaries {
		go func() {
			if err := w.waitOne(ctx, s, stream, seq); err != nil {
				results <- fmt.Errorf("wait for %s to store %s #%d: %w", s, stream, seq, err)
				return
			}
			results <- nil
		}()
	}
	var errs []error
	for stored := 0; stored < need; {
		err := <-results
		if err == nil {
			stored++
			continue
		}
		if errs = append(errs, err); len(errs) > n-need {
			return fmt.Errorf("%d of %d secondaries must store it: %w", need, n, errors.Join(errs...))
		}
	}
	return nil
}

// required is how many secondaries must store a write.
func (w *Waiter) required() int {
	if r := w.opts.Required; r > 0 && r < len(w.opts.Secondaries) {
		return r
	}
	return len(w.opts.Secondaries)
}

// WaitQueue waits for message seq of app's queue (queue.Message.Sequence).
func (w *Waiter) WaitQueue(ctx context.Context, app, queue string, seq uint64) error {
	return w.WaitReplicated(ctx, broker.Name(w.region, "Q", app, queue), seq)
}

// WaitTable waits for the entity write whose ETag (W/"<revision>") the
// table service returned.
func (w *Waiter) WaitTable(ctx context.Context, app, table, etag string) error {
	rev, err := parseETag(etag)
	if err != nil {
		return fmt.Errorf("wait for table write: %w", err)
	}
	return w.WaitReplicated(ctx, kvStream(broker.Name(w.region, "T", app, strings.ToLower(table))), rev)
}

// WaitTableLatest waits until the secondaries stored everything the
// table's bucket holds now: for a write whose revision the store does not
// return (a KV delete; an entity group transaction answers per entity).
func (w *Waiter) WaitTableLatest(ctx context.Context, app, table string) error {
	stream := kvStream(broker.Name(w.region, "T", app, strings.ToLower(table)))
	st, err := w.local.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("wait for table write: %w", err)
	}
	return w.WaitReplicated(ctx, stream, st.CachedInfo().State.LastSeq)
}

// parseETag reads the revision out of a table ETag, W/"<revision>".
func parseETag(etag string) (uint64, error) {
	inner, ok := strings.CutPrefix(etag, `W/"`)
	inner, ok2 := strings.CutSuffix(inner, `"`)
	if !ok || !ok2 {
		return 0, fmt.Errorf("etag %q: want W/\"<revision>\"", etag)
	}
	rev, err := parseSeq(inner)
	if err != nil || rev == 0 || inner[0] == '0' {
		return 0, fmt.Errorf("etag %q: revision must be a positive integer", etag)
	}
	return rev, nil
}

// waitOne waits for one secondary: on its notification, or on a poll
// after Fallback, backing off.
func (w *Waiter) waitOne(ctx context.Context, secondary, stream string, seq uint64) error {
	x, done := w.register(secondary, stream, seq)
	if done {
		return nil
	}
	defer w.unregister(secondary, stream, x)
	delay := w.opts.Fallback
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-x.done:
			return nil
		case <-w.closed:
			return ErrWaiterClosed
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if w.poll(ctx, secondary, stream, seq) {
			return nil
		}
		delay = min(delay*2, maxPollDelay)
		t.Reset(delay)
	}
}

func (w *Waiter) register(secondary, stream string, seq uint64) (*waiting, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.markLocked(markKey{secondary, stream})
	if m.high >= seq {
		return nil, true
	}
	x := &waiting{seq: seq, done: make(chan struct{})}
	m.waiters[x] = struct{}{}
	return x, false
}

func (w *Waiter) unregister(secondary, stream string, x *waiting) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.marks[markKey{secondary, stream}].waiters, x)
}

// poll asks the secondary for its mirror's last sequence, then checks
// whether seq is still in the origin at all.
func (w *Waiter) poll(ctx context.Context, secondary, stream string, seq uint64) bool {
	pctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	st, err := w.domains[secondary].Stream(pctx, rename(stream, w.region, secondary))
	if err == nil {
		last := st.CachedInfo().State.LastSeq
		w.observe(secondary, stream, last)
		if last >= seq {
			return true
		}
	}
	return w.goneFromOrigin(pctx, stream, seq)
}

// goneFromOrigin reports whether seq was stored in stream and has since
// been deleted (a processed queue message, an overwritten KV revision).
func (w *Waiter) goneFromOrigin(ctx context.Context, stream string, seq uint64) bool {
	st, err := w.local.Stream(ctx, stream)
	if err != nil || st.CachedInfo().State.LastSeq < seq {
		return false
	}
	_, err = st.GetMsg(ctx, seq)
	return errors.Is(err, jetstream.ErrMsgNotFound)
}
