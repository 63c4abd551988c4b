package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxPeek is the most messages one Peek returns (Azure's limit).
const MaxPeek = 32

// Peek returns up to n of the oldest visible messages without consuming
// them. Messages this process dequeued (a trigger's, a REST receive) are
// left out while invisible, as are messages put with a visibility timeout
// and expired ones; DequeueCount is that of this process's latest dequeue
// (0 when it made none). In a secondary, messages the primary processed
// are left out.
func (s *Service) Peek(ctx context.Context, app, queue string, n int) ([]Message, error) {
	if n < 1 || n > MaxPeek {
		return nil, fmt.Errorf("queue peek: count %d: must be 1..%d", n, MaxPeek)
	}
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return nil, fmt.Errorf("queue peek: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue peek %s/%s: %w", app, queue, err)
	}
	d, mirror, err := s.processed(ctx, info, app, queue)
	if err != nil {
		return nil, fmt.Errorf("queue peek: %w", err)
	}
	if w, ok := s.worker(ctx, st); ok && !mirror {
		d.floor = w.AckFloor.Stream // processed here, held for a standby
	}
	out, err := s.peekFrom(ctx, st, app, queue, max(info.State.FirstSeq, d.floor+1), n, d)
	if err != nil {
		return nil, fmt.Errorf("queue peek %s/%s: %w", app, queue, err)
	}
	return out, nil
}

func (s *Service) peekFrom(ctx context.Context, st jetstream.Stream, app, queue string, seq uint64, n int, d done) ([]Message, error) {
	enc := s.config(app).MessageEncoding
	var out []Message
	for len(out) < n {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(s.Subject(app, queue)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		seq = raw.Sequence + 1
		if i := d.rangeOf(raw.Sequence); i >= 0 {
			seq = d.acked[i][1] + 1 // processed in the primary
			continue
		}
		m, ok := s.peeked(s.StreamName(app, queue), raw)
		if !ok {
			continue // invisible or expired
		}
		m.Body, _ = decodeText(raw.Data, enc) // nil when the text does not decode
		out = append(out, m)
	}
	return out, nil
}

// peeked is a stored message as Peek shows it, with the dequeue count of
// its latest dequeue by this process; ok is false while it is invisible
// (dequeued by this process, or put with a visibility timeout) or once it
// has expired.
func (s *Service) peeked(name string, raw *jetstream.RawStreamMsg) (Message, bool) {
	now := s.opts.Clock.Now().UTC()
	if state, _ := classify(raw.Header, now); state != visible {
		return Message{}, false
	}
	m := fromStored(raw.Header, raw.Data, raw.Sequence, s.opts.TTL, raw.Time)
	if l, ok := s.leases.get(leaseKey{stream: name, seq: raw.Sequence}); ok {
		if now.Before(l.until) {
			return Message{}, false
		}
		m.DequeueCount = l.count
	}
	return m, true
}

// Len returns how many messages app's queue holds, including messages
// being processed (as Azure's approximate message count does). In a
// secondary, messages the primary processed are not counted.
func (s *Service) Len(ctx context.Context, app, queue string) (uint64, error) {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return 0, fmt.Errorf("queue length: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue length %s/%s: %w", app, queue, err)
	}
	n, err := s.length(ctx, st, info, app, queue)
	if err != nil {
		return 0, fmt.Errorf("queue length %s/%s: %w", app, queue, err)
	}
	return n, nil
}

func (s *Service) length(ctx context.Context, st jetstream.Stream, info *jetstream.StreamInfo, app, queue string) (uint64, error) {
	d, mirror, err := s.processed(ctx, info, app, queue)
	if err != nil {
		return 0, err
	}
	if mirror {
		return s.mirrorLen(ctx, st, info, d)
	}
	if w, ok := s.worker(ctx, st); ok {
		return w.NumPending + uint64(w.NumAckPending), nil // not processed yet, in flight included
	}
	return info.State.Msgs, nil
}

// worker is the queue's own consumer (the one the trigger and the REST
// API deliver from), if it exists. What it acknowledged is processed,
// even while a message stays in the work queue stream: a standby's mirror
// consumer holds what it has not copied yet (a standby that is down holds
// everything processed since; internal/replicate/DESIGN.md).
func (s *Service) worker(ctx context.Context, st jetstream.Stream) (*jetstream.ConsumerInfo, bool) {
	c, err := st.Consumer(ctx, consumerName)
	if err != nil {
		return nil, false
	}
	return c.CachedInfo(), true
}

// Clear deletes every message in app's queue.
func (s *Service) Clear(ctx context.Context, app, queue string) error {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return fmt.Errorf("queue clear: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("queue clear %s/%s: %w", app, queue, err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(info.State.LastSeq+1)); err != nil {
		return fmt.Errorf("queue clear %s/%s: %w", app, queue, err)
	}
	// Report the purged sequences as processed, so a standby's view (and a
	// promotion) leaves them out as it leaves out deleted ones.
	if info.State.Msgs > 0 {
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
			s.acked(app, queue, seq)
		}
	}
	s.leases.forgetStream(s.StreamName(app, queue))
	return nil
}

// QueueInfo is one queue of an app and its length.
type QueueInfo struct {
	Name   string `json:"name"`
	Length uint64 `json:"length"`
}

// List returns app's queues in name order: its own streams, or in a
// secondary the mirrors of the primary's (which have no subjects).
func (s *Service) List(ctx context.Context, app string) ([]QueueInfo, error) {
	if err := validApp(app); err != nil {
		return nil, fmt.Errorf("queue list: %w", err)
	}
	prefix := s.StreamName(app, "")
	lister := s.js.ListStreams(ctx)
	var out []QueueInfo
	for info := range lister.Info() {
		if !strings.HasPrefix(info.Config.Name, prefix) {
			continue
		}
		q, err := s.listed(ctx, info, app, prefix)
		if err != nil {
			return nil, fmt.Errorf("queue list %s: %w", app, err)
		}
		out = append(out, q)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("queue list %s: %w", app, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Service) listed(ctx context.Context, info *jetstream.StreamInfo, app, prefix string) (QueueInfo, error) {
	name := info.Config.Metadata["tandem.queue"]
	if name == "" {
		name = strings.TrimPrefix(info.Config.Name, prefix)
	}
	st, err := s.js.Stream(ctx, info.Config.Name)
	if err != nil {
		return QueueInfo{}, err
	}
	n, err := s.length(ctx, st, info, app, name)
	return QueueInfo{Name: name, Length: n}, err
}

// Shutdown stops every listener, draining in-flight handlers until ctx
// ends. Safe to call more than once.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	ls := make([]*Listener, 0, len(s.listeners))
	for l := range s.listeners {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Stop(ctx))
	}
	return errors.Join(errs...)
}
