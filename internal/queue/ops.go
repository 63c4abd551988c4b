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
// invisible); DequeueCount is not known for peeked messages and is 0.
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
	out, err := s.peekFrom(ctx, st, app, queue, info.State.FirstSeq, n)
	if err != nil {
		return nil, fmt.Errorf("queue peek %s/%s: %w", app, queue, err)
	}
	return out, nil
}

func (s *Service) peekFrom(ctx context.Context, st jetstream.Stream, app, queue string, seq uint64, n int) ([]Message, error) {
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
		m := fromStored(raw.Header, raw.Data, raw.Sequence, s.opts.TTL, raw.Time)
		m.Body, _ = decodeText(raw.Data, enc) // nil when the text does not decode
		out = append(out, m)
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Len returns how many messages app's queue holds, including messages
// being processed (as Azure's approximate message count does).
func (s *Service) Len(ctx context.Context, app, queue string) (uint64, error) {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return 0, fmt.Errorf("queue length: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue length %s/%s: %w", app, queue, err)
	}
	return info.State.Msgs, nil
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

// List returns app's queues in name order.
func (s *Service) List(ctx context.Context, app string) ([]QueueInfo, error) {
	if err := validApp(app); err != nil {
		return nil, fmt.Errorf("queue list: %w", err)
	}
	lister := s.js.ListStreams(ctx, jetstream.WithStreamListSubject(s.Subject(app, "*")))
	prefix := s.StreamName(app, "")
	var out []QueueInfo
	for info := range lister.Info() {
		name := info.Config.Metadata["tandem.queue"]
		if name == "" {
			name = strings.TrimPrefix(info.Config.Name, prefix)
		}
		out = append(out, QueueInfo{Name: name, Length: info.State.Msgs})
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("queue list %s: %w", app, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
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
