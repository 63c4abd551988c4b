// Package queue gives function apps Azure Storage Queue semantics on the
// region's NATS JetStream: one work-queue stream per queue per app,
// message ids, dequeue counts, visibility timeouts, poison queues and the
// queue trigger's batch/concurrency rules, so apps written for Azure queue
// triggers and outputs run unmodified and their messages survive a
// restart and can be mirrored to the standby region. DESIGN.md explains
// the streams, subjects and consumers.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// Defaults for Options.
const (
	DefaultTTL             = 7 * 24 * time.Hour // Azure's default message time-to-live
	DefaultLease           = 10 * time.Minute   // the Azure listener's visibility lease
	DefaultDuplicateWindow = 2 * time.Minute    // JetStream's default dedupe window
	MaxTextSize            = 64 * 1024          // Azure's limit on a message's text
	consumerName           = "worker"
	// maxAckPending bounds the messages invisible at once: in flight in
	// listeners, dequeued through the REST API and not deleted, or put
	// with a visibility timeout and handed back until then (each holds a
	// pending slot of the consumer until it is deleted or delivered again).
	maxAckPending = 1 << 20
)

// Errors callers can test with errors.Is.
var (
	ErrNotFound = errors.New("queue not found")
	ErrTooLarge = errors.New("message text larger than 64 KiB")
)

// Options configures a Service.
type Options struct {
	Broker *broker.Broker
	Clock  clock.Clock
	Logger *slog.Logger
	// TTL is every message's time-to-live, enforced as the stream's MaxAge.
	TTL time.Duration
	// Lease is how long a delivered message stays invisible while its
	// handler runs (the consumer's AckWait); listeners renew it at half-time.
	Lease time.Duration
	// DuplicateWindow is how long a message id is remembered for dedupe.
	DuplicateWindow time.Duration
	// OnAck, when set, is called after each message is acknowledged (done
	// or moved to poison), with its stream sequence, so a standby region
	// can record the ack floor and out-of-order acks.
	OnAck func(app, queue string, seq uint64)
	// Processed, when set, says which messages of a queue the primary
	// region processed: every sequence up to floor and inside an acked
	// range. Len, Peek and List use it on a queue whose stream is a mirror
	// (this region is a secondary): a mirror keeps every message it saw,
	// since deletes are not mirrored.
	Processed func(ctx context.Context, app, queue string) (floor uint64, acked [][2]uint64, err error)
}

// Service owns the queues of every app in a region.
type Service struct {
	opts      Options
	js        jetstream.JetStream
	mu        sync.Mutex
	streams   map[string]jetstream.Stream
	configs   map[string]Config
	listeners map[*Listener]struct{}
	consumers map[string]jetstream.Consumer // REST fetchers' handles, by stream
	leases    *leases
}

// New returns a Service on opts.Broker's JetStream.
func New(opts Options) (*Service, error) {
	if opts.Broker == nil {
		return nil, errors.New("queue: Options.Broker is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	setDefault(&opts.TTL, DefaultTTL)
	setDefault(&opts.Lease, DefaultLease)
	setDefault(&opts.DuplicateWindow, DefaultDuplicateWindow)
	return &Service{
		opts:      opts,
		js:        opts.Broker.JetStream(),
		streams:   map[string]jetstream.Stream{},
		configs:   map[string]Config{},
		listeners: map[*Listener]struct{}{},
		consumers: map[string]jetstream.Consumer{},
		leases:    newLeases(),
	}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// SetConfig records an app's host.json extensions.queues; its
// messageEncoding decides how Enqueue and EnqueueOutput store bodies and
// how Peek decodes them. Apps without one use DefaultConfig (base64).
func (s *Service) SetConfig(app string, cfg Config) error {
	if err := validApp(app); err != nil {
		return fmt.Errorf("queue set config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("queue set config for app %s: %w", app, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configs[app] = cfg
	return nil
}

func (s *Service) config(app string) Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.configs[app]; ok {
		return c
	}
	return DefaultConfig()
}

// StreamName is the JetStream stream holding app's queue in this region.
func (s *Service) StreamName(app, queue string) string {
	return s.opts.Broker.Name("Q", app, queue)
}

// Subject is the subject app's queue is stored under in this region.
func (s *Service) Subject(app, queue string) string {
	return s.opts.Broker.Subject("q", app, queue)
}

// Declare creates app's queue (its stream and durable consumer) if it does
// not exist. Apps declare the queues their triggers and outputs name.
func (s *Service) Declare(ctx context.Context, app, queue string) error {
	_, err := s.ensure(ctx, app, queue)
	return err
}

// ensure returns the queue's stream, creating stream and consumer once.
func (s *Service) ensure(ctx context.Context, app, queue string) (jetstream.Stream, error) {
	if err := validNames(app, queue); err != nil {
		return nil, fmt.Errorf("queue declare: %w", err)
	}
	key := app + "/" + queue
	s.mu.Lock()
	st, ok := s.streams[key]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.create(ctx, app, queue)
	if err != nil {
		return nil, fmt.Errorf("queue declare %s/%s: %w", app, queue, err)
	}
	s.mu.Lock()
	s.streams[key] = st
	s.mu.Unlock()
	return st, nil
}

// ErrMirror refuses to use or change a queue whose stream is a mirror of
// another region's (this region is a secondary): only promotion makes it
// writable.
var ErrMirror = errors.New("the queue is a read-only mirror of the primary region's")

func (s *Service) create(ctx context.Context, app, queue string) (jetstream.Stream, error) {
	name := s.StreamName(app, queue)
	cfg := s.streamConfig(app, queue)
	if st, err := s.js.Stream(ctx, name); err == nil {
		if st.CachedInfo().Config.Mirror != nil {
			return nil, fmt.Errorf("stream %s: %w", name, ErrMirror)
		}
		// Keep the metadata set since (Azure metadata, promotion records).
		for k, v := range st.CachedInfo().Config.Metadata {
			if _, ok := cfg.Metadata[k]; !ok {
				cfg.Metadata[k] = v
			}
		}
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	st, err := s.js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	if _, err := st.CreateOrUpdateConsumer(ctx, s.consumerConfig()); err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	return st, nil
}

func (s *Service) streamConfig(app, queue string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        s.StreamName(app, queue),
		Description: fmt.Sprintf("Azure Storage queue %q of app %q", queue, app),
		Subjects:    []string{s.Subject(app, queue)},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    s.opts.Broker.Replicas(),
		MaxAge:      s.opts.TTL,
		Duplicates:  s.opts.DuplicateWindow,
		Metadata:    map[string]string{"tandem.app": app, "tandem.queue": queue},
	}
}

func (s *Service) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "queue trigger listeners",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.opts.Lease,
		MaxDeliver:    -1, // poison handling is ours, as in Azure
		MaxAckPending: maxAckPending,
	}
}

// Forget drops every cached stream handle, so the next use looks the
// streams up again: call it after streams were replaced underneath the
// service (a promotion or a reseed at failover).
func (s *Service) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.streams)
	clear(s.consumers)
}

func (s *Service) forgetStream(app, queue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, app+"/"+queue)
	delete(s.consumers, s.StreamName(app, queue))
}

// lookup returns an existing queue's stream or ErrNotFound.
func (s *Service) lookup(ctx context.Context, app, queue string) (jetstream.Stream, error) {
	if err := validNames(app, queue); err != nil {
		return nil, err
	}
	st, err := s.js.Stream(ctx, s.StreamName(app, queue))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, app, queue)
	}
	return st, err
}

// EnqueueOption adjusts one Enqueue or EnqueueOutput call.
type EnqueueOption func(*enqueueOpts)

type enqueueOpts struct {
	id, seed string
	raw      bool
	header   nats.Header
}

// WithID stores the message under id (a GUID) instead of a fresh one;
// enqueueing the same id again within the dedupe window stores nothing.
func WithID(id string) EnqueueOption { return func(o *enqueueOpts) { o.id = id } }

// WithIDSeed makes EnqueueOutput derive each message's id from seed, the
// queue and the message's index, so retrying the same outputs (same seed,
// e.g. the trigger message id and function name) is deduplicated.
func WithIDSeed(seed string) EnqueueOption { return func(o *enqueueOpts) { o.seed = seed } }

// Raw stores body as the message text as is, without messageEncoding (as
// a producer that does not base64-encode would).
func Raw() EnqueueOption { return func(o *enqueueOpts) { o.raw = true } }

func withHeader(h nats.Header) EnqueueOption { return func(o *enqueueOpts) { o.header = h } }

// Enqueue stores body in app's queue, creating the queue on first use.
// The body is encoded per the app's messageEncoding unless Raw is given.
func (s *Service) Enqueue(ctx context.Context, app, queue string, body []byte, opts ...EnqueueOption) (Message, error) {
	var o enqueueOpts
	for _, f := range opts {
		f(&o)
	}
	if o.id == "" {
		o.id = newID()
	}
	if err := validID(o.id); err != nil {
		return Message{}, fmt.Errorf("enqueue: %w", err)
	}
	m, err := s.publish(ctx, app, queue, body, o)
	if err != nil {
		return Message{}, fmt.Errorf("enqueue to %s/%s: %w", app, queue, err)
	}
	return m, nil
}

// EnqueueOutput writes the value a handler returned for a queue output
// binding, with the binding's value semantics (see OutputMessages). The
// messages of an array are published without waiting for each one's
// acknowledgement before sending the next (see enqueueMany).
func (s *Service) EnqueueOutput(ctx context.Context, app, queue string, value json.RawMessage, opts ...EnqueueOption) ([]Message, error) {
	bodies, err := OutputMessages(value)
	if err != nil {
		return nil, fmt.Errorf("enqueue output to %s/%s: %w", app, queue, err)
	}
	var o enqueueOpts
	for _, f := range opts {
		f(&o)
	}
	ids := make([]string, len(bodies))
	for i := range bodies {
		ids[i] = newID()
		if o.seed != "" {
			ids[i] = derivedID(o.seed, queue, strconv.Itoa(i))
		}
	}
	if len(bodies) > 1 {
		return s.enqueueMany(ctx, app, queue, bodies, ids, o.raw)
	}
	out := make([]Message, 0, len(bodies))
	for i, b := range bodies {
		m, err := s.Enqueue(ctx, app, queue, b, WithID(ids[i]), func(e *enqueueOpts) { e.raw = o.raw })
		if err != nil {
			return out, fmt.Errorf("enqueue output message %d: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// publish stores one message and returns it as stored.
func (s *Service) publish(ctx context.Context, app, queue string, body []byte, o enqueueOpts) (Message, error) {
	msg, now, err := s.prepare(ctx, app, queue, body, o)
	if err != nil {
		return Message{}, err
	}
	ack, err := s.publishAcked(ctx, msg, s.StreamName(app, queue))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			s.forgetStream(app, queue) // deleted underneath us: recreate next time
		}
		return Message{}, fmt.Errorf("publish: %w", err)
	}
	return s.stored(app, msg, ack, now, body, o.raw), nil
}

// prepare builds the message that stores body in app's queue, ensuring
// the queue exists.
func (s *Service) prepare(ctx context.Context, app, queue string, body []byte, o enqueueOpts) (*nats.Msg, time.Time, error) {
	if _, err := s.ensure(ctx, app, queue); err != nil {
		return nil, time.Time{}, err
	}
	text := body
	if !o.raw {
		text = encodeText(body, s.config(app).MessageEncoding)
	}
	if len(text) > MaxTextSize {
		return nil, time.Time{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(text))
	}
	now := s.opts.Clock.Now().UTC()
	msg := &nats.Msg{Subject: s.Subject(app, queue), Data: text, Header: nats.Header{}}
	for k, v := range o.header {
		msg.Header[k] = v
	}
	msg.Header.Set(nats.MsgIdHdr, o.id)
	if msg.Header.Get(hdrInserted) == "" { // a rewritten message keeps its time
		msg.Header.Set(hdrInserted, now.Format(time.RFC3339Nano))
	}
	return msg, now, nil
}

// stored is the Message msg became, given the stream's acknowledgement.
func (s *Service) stored(app string, msg *nats.Msg, ack *jetstream.PubAck, now time.Time, body []byte, raw bool) Message {
	m := fromStored(msg.Header, msg.Data, ack.Sequence, s.opts.TTL, now)
	m.Body, m.Duplicate = body, ack.Duplicate
	if raw {
		m.Body, _ = decodeText(msg.Data, s.config(app).MessageEncoding) // nil when the text does not decode
	}
	return m
}

// asyncWindow bounds the publishes of one output awaiting their
// acknowledgement (nats.go's own bound is 4,000 per connection).
const asyncWindow = 256

// enqueueMany stores several messages of one output: each window of
// messages is published at once (in order, on one connection) and then
// their acknowledgements are awaited, instead of one round trip per
// message. A message whose acknowledgement does not come (an error, or
// none within broker.Attempt) is resent through publishAcked with the
// same Nats-Msg-Id, so it is stored once and retried as Enqueue retries.
func (s *Service) enqueueMany(ctx context.Context, app, queue string, bodies [][]byte, ids []string, raw bool) ([]Message, error) {
	out := make([]Message, 0, len(bodies))
	for start := 0; start < len(bodies); start += asyncWindow {
		end := min(start+asyncWindow, len(bodies))
		msgs, err := s.publishWindow(ctx, app, queue, bodies[start:end], ids[start:end], raw)
		out = append(out, msgs...)
		if err != nil {
			return out, fmt.Errorf("enqueue output message %d: %w", start+len(msgs), err)
		}
	}
	return out, nil
}

// publishWindow publishes bodies without waiting, then collects their
// acknowledgements in order; it returns the messages stored before the
// first that could not be.
func (s *Service) publishWindow(ctx context.Context, app, queue string, bodies [][]byte, ids []string, raw bool) ([]Message, error) {
	stream := s.StreamName(app, queue)
	type pending struct {
		msg    *nats.Msg
		now    time.Time
		future jetstream.PubAckFuture // nil when the publish itself failed
	}
	ps := make([]pending, len(bodies))
	for i, b := range bodies { // all checked (size) before any is sent
		msg, now, err := s.prepare(ctx, app, queue, b, enqueueOpts{id: ids[i], raw: raw})
		if err != nil {
			return nil, fmt.Errorf("enqueue to %s/%s: %w", app, queue, err)
		}
		ps[i] = pending{msg: msg, now: now}
	}
	for i := range ps {
		m := ps[i].msg // a copy: an async publish sets its reply subject and headers
		if f, err := s.js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: maps.Clone(m.Header)}, jetstream.WithExpectStream(stream)); err == nil {
			ps[i].future = f
		}
	}
	out := make([]Message, 0, len(bodies))
	for i, p := range ps {
		ack := awaitAck(ctx, p.future)
		if ack == nil {
			var err error
			if ack, err = s.publishAcked(ctx, p.msg, stream); err != nil {
				if errors.Is(err, jetstream.ErrNoStreamResponse) {
					s.forgetStream(app, queue)
				}
				return out, fmt.Errorf("enqueue to %s/%s: publish: %w", app, queue, err)
			}
		}
		out = append(out, s.stored(app, p.msg, ack, p.now, bodies[i], raw))
	}
	return out, nil
}

// awaitAck waits for an asynchronous publish's acknowledgement, at most
// broker.Attempt; nil when there is none (no future, an error, the wait
// ran out or ctx ended).
func awaitAck(ctx context.Context, f jetstream.PubAckFuture) *jetstream.PubAck {
	if f == nil {
		return nil
	}
	t := time.NewTimer(broker.Attempt)
	defer t.Stop()
	select {
	case ack := <-f.Ok():
		return ack
	case <-f.Err():
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}
