package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message operations of the Queue REST API on the trigger's streams and
// consumer: what Put stores a queueTrigger fires on, and what Receive
// gets competes with the trigger's listener, as in Azure. Texts are
// stored as sent (the REST API does not apply messageEncoding: the SDK
// does).

// Limits of the REST message operations (Azure's).
const (
	MaxReceive        = 32
	MaxVisibility     = 7 * 24 * time.Hour
	DefaultVisibility = 30 * time.Second
)

// PutOptions are Put Message's parameters.
type PutOptions struct {
	// Visibility keeps the message invisible this long after the put.
	Visibility time.Duration
	// TTL is the message's time-to-live: 0 is the queue's (7 days); a
	// negative TTL (Azure's -1, never) or one above the queue's is capped
	// at the queue's.
	TTL time.Duration
}

// Put stores text as a new message of an existing queue and returns it
// with a pop receipt that deletes or updates it before any dequeue.
func (s *Service) Put(ctx context.Context, app, queue string, text []byte, o PutOptions) (Message, error) {
	if len(text) > MaxTextSize {
		return Message{}, fmt.Errorf("put message: %w: %d bytes", ErrTooLarge, len(text))
	}
	if _, err := s.existing(ctx, app, queue); err != nil {
		return Message{}, fmt.Errorf("put message: %w", err)
	}
	now := s.opts.Clock.Now().UTC()
	h := nats.Header{}
	h.Set(hdrInserted, now.Format(time.RFC3339Nano))
	if o.Visibility > 0 {
		h.Set(hdrVisibleAt, now.Add(o.Visibility).Format(time.RFC3339Nano))
	}
	if o.TTL > 0 && o.TTL < s.opts.TTL {
		h.Set(hdrExpires, now.Add(o.TTL).Format(time.RFC3339Nano))
	}
	m, err := s.publish(ctx, app, queue, text, enqueueOpts{id: newID(), raw: true, header: h})
	if err != nil {
		return Message{}, fmt.Errorf("put message to %s/%s: %w", app, queue, err)
	}
	s.issue(&m, now.Add(o.Visibility))
	return m, nil
}

// issue gives a stored message that was not dequeued yet a pop receipt
// of generation 0: valid until its first dequeue, which records a lease
// of a newer generation. Nothing is registered, so puts cost no memory.
func (s *Service) issue(m *Message, visible time.Time) {
	m.NextVisibleTime = visible
	m.PopReceipt = receipt{seq: m.Sequence, count: m.DequeueCount}.encode()
}

// existing returns an existing queue's stream (ErrNotFound otherwise).
func (s *Service) existing(ctx context.Context, app, queue string) (jetstream.Stream, error) {
	s.mu.Lock()
	st, ok := s.streams[app+"/"+queue]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	return s.lookup(ctx, app, queue)
}

// Receive dequeues up to n visible messages (1..32), each invisible for
// visibility (1 s .. 7 days) and counted as a dequeue, as Get Messages.
func (s *Service) Receive(ctx context.Context, app, queue string, n int, visibility time.Duration) ([]Message, error) {
	if n < 1 || n > MaxReceive {
		return nil, fmt.Errorf("receive: %w: numofmessages %d must be 1..%d", ErrInvalidInput, n, MaxReceive)
	}
	cons, err := s.consumer(ctx, app, queue)
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	var out []Message
	for round := 0; round < 4 && len(out) < n; round++ {
		got, fetched, err := s.receiveBatch(app, queue, cons, n-len(out), visibility)
		out = append(out, got...)
		if err != nil {
			return out, fmt.Errorf("receive from %s/%s: %w", app, queue, err)
		}
		if fetched == 0 {
			break
		}
	}
	return out, nil
}

// receiveBatch fetches what is available now (no waiting) and admits
// each delivery; fetched counts deliveries, dequeued or not.
func (s *Service) receiveBatch(app, queue string, cons jetstream.Consumer, n int, visibility time.Duration) ([]Message, int, error) {
	batch, err := cons.FetchNoWait(n)
	if err != nil {
		return nil, 0, err
	}
	var out []Message
	fetched := 0
	until := s.opts.Clock.Now().UTC().Add(visibility)
	for msg := range batch.Messages() {
		fetched++
		m, err := s.admit(app, queue, msg, until)
		if errors.Is(err, errNotDequeued) {
			continue // bounced or expired; admit handled it
		}
		if err != nil {
			_ = msg.Nak() // not a JetStream delivery we can read: hand it back
			continue
		}
		if err := msg.NakWithDelay(visibility); err != nil {
			return out, fetched, fmt.Errorf("set visibility: %w", err)
		}
		out = append(out, *m)
	}
	return out, fetched, batch.Error()
}

// consumer returns the queue's durable consumer, looked up once.
func (s *Service) consumer(ctx context.Context, app, queue string) (jetstream.Consumer, error) {
	name := s.StreamName(app, queue)
	s.mu.Lock()
	c, ok := s.consumers[name]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	st, err := s.existing(ctx, app, queue)
	if err != nil {
		return nil, err
	}
	if st.CachedInfo().Config.Mirror != nil {
		return nil, fmt.Errorf("%s/%s: %w", app, queue, ErrMirror)
	}
	c, err = st.CreateOrUpdateConsumer(ctx, s.consumerConfig())
	if err != nil {
		return nil, fmt.Errorf("consumer of %s/%s: %w", app, queue, err)
	}
	s.mu.Lock()
	s.consumers[name] = c
	s.mu.Unlock()
	return c, nil
}

// DeleteMessage deletes message id if popReceipt is its current receipt.
func (s *Service) DeleteMessage(ctx context.Context, app, queue, id, popReceipt string) error {
	st, r, _, err := s.current(ctx, app, queue, id, popReceipt, false)
	if err != nil {
		return fmt.Errorf("delete message: %w", err)
	}
	if s.ackLeased(ctx, app, queue, r.seq) {
		return nil
	}
	if err := s.deleteSeq(ctx, st, app, queue, r.seq); err != nil {
		return fmt.Errorf("delete message %s from %s/%s: %w", id, app, queue, err)
	}
	return nil
}

// ackLeased deletes a message this process delivered by acknowledging
// its current delivery (cheaper than a stream delete, and what the
// trigger does); false when there is no such delivery or the ack failed.
func (s *Service) ackLeased(ctx context.Context, app, queue string, seq uint64) bool {
	k := leaseKey{stream: s.StreamName(app, queue), seq: seq}
	l, ok := s.leases.get(k)
	if !ok || l.reply == "" {
		return false
	}
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if _, err := s.opts.Broker.Conn().RequestWithContext(actx, l.reply, []byte("+ACK")); err != nil {
		return false
	}
	s.leases.drop(k)
	s.acked(app, queue, seq)
	return true
}

// deleteSeq deletes a stored message and reports it acknowledged.
func (s *Service) deleteSeq(ctx context.Context, st jetstream.Stream, app, queue string, seq uint64) error {
	err := st.DeleteMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) || isNotFoundAPI(err) {
		return ErrMessageNotFound
	}
	if err != nil {
		return err
	}
	s.leases.drop(leaseKey{stream: s.StreamName(app, queue), seq: seq})
	s.acked(app, queue, seq)
	return nil
}

// isNotFoundAPI: the server's "no message found" answer to a delete.
func isNotFoundAPI(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageNotFound
}

// current checks that popReceipt is the current receipt of message id
// and returns the queue's stream, the receipt and, when needRaw, the
// stored message. A lease this process holds names the current
// generation and the id, so the stored message is read only when needed
// or when there is no lease (another node delivered it, or a restart:
// then the receipt is trusted if it names that message).
func (s *Service) current(ctx context.Context, app, queue, id, popReceipt string, needRaw bool) (jetstream.Stream, receipt, *jetstream.RawStreamMsg, error) {
	r, err := parseReceipt(popReceipt)
	if err != nil {
		return nil, receipt{}, nil, fmt.Errorf("%w: popreceipt: %w", ErrInvalidInput, err)
	}
	if r.reply != "" && ackStream(r.reply) != s.StreamName(app, queue) {
		return nil, receipt{}, nil, fmt.Errorf("%w: popreceipt is for another queue", ErrMessageNotFound)
	}
	st, err := s.existing(ctx, app, queue)
	if err != nil {
		return nil, receipt{}, nil, err
	}
	// A lease of generation 0 only counts bounces: no dequeue yet.
	l, leased := s.leases.get(leaseKey{stream: s.StreamName(app, queue), seq: r.seq})
	dequeued := leased && l.gen != 0
	if dequeued && (l.gen != r.gen || l.id != id) {
		return nil, receipt{}, nil, fmt.Errorf("%w: %s (an older pop receipt)", ErrMessageNotFound, id)
	}
	if dequeued && !needRaw {
		return st, r, nil, nil
	}
	raw, err := s.storedMsg(ctx, st, r.seq, id)
	if err != nil {
		return nil, receipt{}, nil, err
	}
	return st, r, raw, nil
}

// storedMsg reads stored message seq, which must be message id.
func (s *Service) storedMsg(ctx context.Context, st jetstream.Stream, seq uint64, id string) (*jetstream.RawStreamMsg, error) {
	raw, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	if stored := fromStored(raw.Header, raw.Data, raw.Sequence, s.opts.TTL, raw.Time); stored.ID != id {
		return nil, fmt.Errorf("%w: %s", ErrMessageNotFound, id)
	}
	return raw, nil
}

// Update is Update Message's result: the new pop receipt and visibility.
type Update struct {
	PopReceipt      string
	NextVisibleTime time.Time
	// Sequence is the stream sequence of the new text (0 when only the
	// visibility changed).
	Sequence uint64
}

// UpdateMessage makes message id invisible for visibility (0 .. 7 days)
// from now and, when text is not nil, replaces its text. popReceipt must
// be its current receipt; the old one stops working.
func (s *Service) UpdateMessage(ctx context.Context, app, queue, id, popReceipt string, visibility time.Duration, text []byte) (Update, error) {
	if text != nil && len(text) > MaxTextSize {
		return Update{}, fmt.Errorf("update message: %w: %d bytes", ErrTooLarge, len(text))
	}
	st, r, raw, err := s.current(ctx, app, queue, id, popReceipt, false)
	if err != nil {
		return Update{}, fmt.Errorf("update message: %w", err)
	}
	k := leaseKey{stream: s.StreamName(app, queue), seq: r.seq}
	reply := r.reply
	if l, ok := s.leases.get(k); ok && l.reply != "" {
		reply = l.reply // a bounce since the receipt was issued
	}
	if text == nil && reply != "" {
		return s.hideFor(k, id, r, reply, visibility)
	}
	if raw == nil {
		if raw, err = s.storedMsg(ctx, st, r.seq, id); err != nil {
			return Update{}, fmt.Errorf("update message: %w", err)
		}
	}
	if text == nil {
		text = raw.Data // never delivered: rewrite it with the new visibility
	}
	u, err := s.rewrite(ctx, st, app, queue, raw, r, visibility, text)
	if err != nil {
		return Update{}, fmt.Errorf("update message %s in %s/%s: %w", id, app, queue, err)
	}
	return u, nil
}

// hideFor changes a delivered message's visibility with a NAK on its
// delivery's ack subject and issues a new receipt.
func (s *Service) hideFor(k leaseKey, id string, r receipt, reply string, visibility time.Duration) (Update, error) {
	msg := []byte("-NAK")
	if visibility > 0 {
		msg = fmt.Appendf(nil, "-NAK {\"delay\": %d}", visibility.Nanoseconds())
	}
	if err := s.opts.Broker.Conn().Publish(reply, msg); err != nil {
		return Update{}, fmt.Errorf("update message visibility: %w", err)
	}
	now := s.opts.Clock.Now().UTC()
	until := now.Add(visibility)
	gen := s.leases.deliver(k, id, r.count, reply, until, now)
	return Update{PopReceipt: receipt{seq: r.seq, gen: gen, count: r.count, reply: reply}.encode(), NextVisibleTime: until}, nil
}

// rewrite stores text as a new message with the old one's id, insertion
// and expiry times and dequeue count, invisible for visibility, then
// deletes the old one.
func (s *Service) rewrite(ctx context.Context, st jetstream.Stream, app, queue string, raw *jetstream.RawStreamMsg, r receipt, visibility time.Duration, text []byte) (Update, error) {
	old := fromStored(raw.Header, raw.Data, raw.Sequence, s.opts.TTL, raw.Time)
	now := s.opts.Clock.Now().UTC()
	h := nats.Header{}
	h.Set(hdrMessageID, old.ID)
	h.Set(hdrInserted, old.InsertionTime.Format(time.RFC3339Nano))
	h.Set(hdrExpires, old.ExpirationTime.Format(time.RFC3339Nano))
	h.Set(hdrDequeueBase, strconv.FormatInt(r.count, 10))
	if visibility > 0 {
		h.Set(hdrVisibleAt, now.Add(visibility).Format(time.RFC3339Nano))
	}
	// A fresh Nats-Msg-Id: the old id is in the dedupe window.
	m, err := s.publish(ctx, app, queue, text, enqueueOpts{id: derivedID("update", old.ID, strconv.FormatUint(r.seq, 10), strconv.FormatUint(r.gen, 10)), raw: true, header: h})
	if err != nil {
		return Update{}, err
	}
	if err := s.deleteSeq(ctx, st, app, queue, r.seq); err != nil && !errors.Is(err, ErrMessageNotFound) {
		return Update{}, fmt.Errorf("delete the old text: %w", err)
	}
	m.DequeueCount = r.count
	s.issue(&m, now.Add(visibility))
	return Update{PopReceipt: m.PopReceipt, NextVisibleTime: m.NextVisibleTime, Sequence: m.Sequence}, nil
}
