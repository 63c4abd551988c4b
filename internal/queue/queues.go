package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Queue-level operations of the Queue REST API: create and delete a
// queue, its metadata, its properties and the listing. A queue's
// metadata (Azure's x-ms-meta-* pairs) lives in its stream's metadata
// under metaPrefix, so a mirror created from the stream carries it.

// metaPrefix prefixes an Azure metadata name in a stream's metadata.
const metaPrefix = "azure.meta."

// Errors of the REST operations, for errors.Is.
var (
	ErrQueueExists     = errors.New("the queue already exists with different metadata")
	ErrMessageNotFound = errors.New("the message does not exist, or the pop receipt is not its current one")
	ErrInvalidInput    = errors.New("invalid input")
)

// Properties is a queue's metadata and approximate message count.
type Properties struct {
	Metadata map[string]string
	Count    uint64
}

// CreateQueue creates app's queue with metadata (names lowercased). It
// reports created=false when the queue existed with the same metadata,
// and ErrQueueExists when it existed with other metadata (Azure's 204 and
// 409).
func (s *Service) CreateQueue(ctx context.Context, app, queue string, meta map[string]string) (created bool, err error) {
	if err := validNames(app, queue); err != nil {
		return false, fmt.Errorf("create queue: %w: %w", ErrInvalidInput, err)
	}
	name := s.StreamName(app, queue)
	st, err := s.js.Stream(ctx, name)
	switch {
	case err == nil:
		if !maps.Equal(azureMeta(st.CachedInfo().Config.Metadata), meta) {
			return false, fmt.Errorf("create queue %s/%s: %w", app, queue, ErrQueueExists)
		}
		return false, nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return false, fmt.Errorf("create queue %s/%s: %w", app, queue, err)
	}
	cfg := s.streamConfig(app, queue)
	for k, v := range meta {
		cfg.Metadata[metaPrefix+k] = v
	}
	st, err = s.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return s.CreateQueue(ctx, app, queue, meta) // created concurrently: compare again
	}
	if err != nil {
		return false, fmt.Errorf("create queue %s/%s: %w", app, queue, err)
	}
	if _, err := st.CreateOrUpdateConsumer(ctx, s.consumerConfig()); err != nil {
		return false, fmt.Errorf("create queue %s/%s: consumer: %w", app, queue, err)
	}
	return true, nil
}

// DeleteQueue deletes app's queue and its messages.
func (s *Service) DeleteQueue(ctx context.Context, app, queue string) error {
	if err := validNames(app, queue); err != nil {
		return fmt.Errorf("delete queue: %w: %w", ErrInvalidInput, err)
	}
	name := s.StreamName(app, queue)
	err := s.js.DeleteStream(ctx, name)
	s.forgetStream(app, queue)
	s.leases.forgetStream(name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete queue: %w: %s/%s", ErrNotFound, app, queue)
	}
	if err != nil {
		return fmt.Errorf("delete queue %s/%s: %w", app, queue, err)
	}
	return nil
}

// GetProperties returns a queue's metadata and approximate message count
// (as Len counts; in a secondary, without what the primary processed).
func (s *Service) GetProperties(ctx context.Context, app, queue string) (Properties, error) {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return Properties{}, fmt.Errorf("queue properties: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return Properties{}, fmt.Errorf("queue properties %s/%s: %w", app, queue, err)
	}
	n, err := s.length(ctx, st, info, app, queue)
	if err != nil {
		return Properties{}, fmt.Errorf("queue properties %s/%s: %w", app, queue, err)
	}
	return Properties{Metadata: azureMeta(info.Config.Metadata), Count: n}, nil
}

// SetMetadata replaces a queue's metadata.
func (s *Service) SetMetadata(ctx context.Context, app, queue string, meta map[string]string) error {
	st, err := s.lookup(ctx, app, queue)
	if err != nil {
		return fmt.Errorf("set queue metadata: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("set queue metadata %s/%s: %w", app, queue, err)
	}
	cfg := info.Config
	if cfg.Mirror != nil {
		return fmt.Errorf("set queue metadata %s/%s: %w", app, queue, ErrMirror)
	}
	m := map[string]string{}
	for k, v := range cfg.Metadata {
		if !strings.HasPrefix(k, metaPrefix) {
			m[k] = v
		}
	}
	for k, v := range meta {
		m[metaPrefix+k] = v
	}
	cfg.Metadata = m
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("set queue metadata %s/%s: %w", app, queue, err)
	}
	s.forgetStream(app, queue)
	return nil
}

// azureMeta extracts the Azure metadata from a stream's metadata (never nil).
func azureMeta(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, metaPrefix); ok {
			out[name] = v
		}
	}
	return out
}

// ListedQueue is one queue of a listing.
type ListedQueue struct {
	Name     string
	Metadata map[string]string
}

// ListPage is one page of ListQueues.
type ListPage struct {
	Queues []ListedQueue
	// Next is the name of the first queue of the next page ("" at the end).
	Next string
}

// ListQueues returns up to max of app's queues whose names start with
// prefix, from the first whose name is at least marker, in name order.
func (s *Service) ListQueues(ctx context.Context, app, prefix, marker string, max int) (ListPage, error) {
	if err := validApp(app); err != nil {
		return ListPage{}, fmt.Errorf("list queues: %w: %w", ErrInvalidInput, err)
	}
	all, err := s.listStreams(ctx, app)
	if err != nil {
		return ListPage{}, fmt.Errorf("list queues of %s: %w", app, err)
	}
	var page ListPage
	for _, q := range all {
		if !strings.HasPrefix(q.Name, prefix) || q.Name < marker {
			continue
		}
		if len(page.Queues) == max {
			page.Next = q.Name
			break
		}
		page.Queues = append(page.Queues, q)
	}
	return page, nil
}

// listStreams lists app's queue streams (or their mirrors) in name order.
func (s *Service) listStreams(ctx context.Context, app string) ([]ListedQueue, error) {
	prefix := s.StreamName(app, "")
	lister := s.js.ListStreams(ctx)
	var out []ListedQueue
	for info := range lister.Info() {
		if !strings.HasPrefix(info.Config.Name, prefix) {
			continue
		}
		name := info.Config.Metadata["tandem.queue"]
		if name == "" {
			name = strings.TrimPrefix(info.Config.Name, prefix)
		}
		out = append(out, ListedQueue{Name: name, Metadata: azureMeta(info.Config.Metadata)})
	}
	if err := lister.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
