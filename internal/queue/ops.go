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

// Peek returns up to n of the oldest messages without consuming them.
// Messages being processed are included (Azure hides them while they are
// invisible); DequeueCount is not known for peeked messages and is 0. In
// a secondary, messages the primary processed are left out.
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
	d, _, err := s.processed(ctx, info, app, queue)
	if err != nil {
		return nil, fmt.Errorf("queue peek: %w", err)
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
		m := fromStored(raw.Header, raw.Data, raw.Sequence, s.opts.TTL, raw.Time)
		m.Body, _ = decodeText(raw.Data, enc) // nil when the text does not decode
		out = append(out, m)
	}
	return out, nil
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
	if err != nil || !mirror {
		return info.State.Msgs, err
	}
	return s.mirrorLen(ctx, st, info, d)
}

// Clear deletes every message in app's queue.
func (s *Service) Clear(ctx context.Context, app, queue string) error {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return fmt.Errorf("queue clear: %w", err)
	}
	if err := st.Purge(ctx); err != nil {
		return fmt.Errorf("queue clear %s/%s: %w", app, queue, err)
	}
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
	if info.Config.Mirror == nil {
		return QueueInfo{Name: name, Length: info.State.Msgs}, nil
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
