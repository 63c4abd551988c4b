package queue

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type delivery struct {
	m  Message
	at time.Time
}

// listen starts a listener whose handler reports each delivery on the
// returned channel and answers with fail(m).
func listen(t *testing.T, s *Service, app, queue string, cfg Config, fail func(*Message) error) <-chan delivery {
	t.Helper()
	ch := make(chan delivery, 100)
	l, err := s.Listen(testCtx(t), app, queue, cfg, func(_ context.Context, m *Message) error {
		ch <- delivery{*m, time.Now()}
		return fail(m)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return ch
}

func TestHandlerSuccessDeletesMessage(t *testing.T) {
	var acked []uint64
	var mu sync.Mutex
	s := newService(t, Options{OnAck: func(app, queue string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		acked = append(acked, seq)
	}})
	ctx := testCtx(t)
	sent, err := s.Enqueue(ctx, "shop", "orders", []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got := recv(t, listen(t, s, "shop", "orders", testConfig(), func(*Message) error { return nil }), "delivery")
	m := got.m
	if m.ID != sent.ID || string(m.Body) != `{"n":1}` || m.DequeueCount != 1 || m.Sequence != sent.Sequence ||
		m.PopReceipt == "" || !m.InsertionTime.Equal(sent.InsertionTime) || m.NextVisibleTime.Sub(got.at) < 9*time.Minute {
		t.Fatalf("delivered %+v", m)
	}
	if string(m.TriggerData()) != `{"n":1}` {
		t.Fatalf("trigger data %s", m.TriggerData())
	}
	waitFor(t, "ack", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) == 1 && acked[0] == sent.Sequence })
	if n, _ := s.Len(ctx, "shop", "orders"); n != 0 {
		t.Fatalf("len %d after success", n)
	}
}

func TestFailureRedeliversAfterVisibilityTimeout(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	if _, err := s.Enqueue(ctx, "shop", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.VisibilityTimeout = 300 * time.Millisecond
	var failedAt atomic.Int64
	ch := listen(t, s, "shop", "orders", cfg, func(m *Message) error {
		if m.DequeueCount == 1 {
			failedAt.Store(time.Now().UnixNano())
			return errors.New("try again")
		}
		return nil
	})
	first := recv(t, ch, "first delivery")
	second := recv(t, ch, "redelivery")
	if first.m.DequeueCount != 1 || second.m.DequeueCount != 2 || first.m.ID != second.m.ID ||
		first.m.PopReceipt == second.m.PopReceipt {
		t.Fatalf("deliveries %+v then %+v", first.m, second.m)
	}
	if gap := second.at.Sub(time.Unix(0, failedAt.Load())); gap < cfg.VisibilityTimeout {
		t.Fatalf("redelivered %v after the failure, before visibilityTimeout %v", gap, cfg.VisibilityTimeout)
	}
	waitFor(t, "ack", func() bool { n, _ := s.Len(ctx, "shop", "orders"); return n == 0 })
}

func TestPoisonAfterMaxDequeueCount(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	sent, err := s.Enqueue(ctx, "shop", "orders", []byte("bad order"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxDequeueCount = 3
	ch := listen(t, s, "shop", "orders", cfg, func(*Message) error { return errors.New("boom") })
	for want := int64(1); want <= 3; want++ {
		if d := recv(t, ch, "delivery"); d.m.DequeueCount != want {
			t.Fatalf("dequeue count %d, want %d", d.m.DequeueCount, want)
		}
	}
	waitFor(t, "poison copy", func() bool { n, _ := s.Len(ctx, "shop", "orders-poison"); return n == 1 })
	waitFor(t, "original removed", func() bool { n, _ := s.Len(ctx, "shop", "orders"); return n == 0 })
	peek, err := s.Peek(ctx, "shop", "orders-poison", 1)
	if err != nil {
		t.Fatal(err)
	}
	p := peek[0]
	if p.OriginalID != sent.ID || p.ID == sent.ID || string(p.Text) != string(sent.Text) || string(p.Body) != "bad order" {
		t.Fatalf("poison copy %+v of %+v", p, sent)
	}
	select {
	case d := <-ch:
		t.Fatalf("delivered again after poison: %+v", d.m)
	default:
	}
	// The poison queue is a queue like any other.
	pd := recv(t, listen(t, s, "shop", "orders-poison", testConfig(), func(*Message) error { return nil }), "poison delivery")
	if string(pd.m.Body) != "bad order" || pd.m.DequeueCount != 1 || pd.m.OriginalID != sent.ID {
		t.Fatalf("poison delivery %+v", pd.m)
	}
}

func TestBase64Encoding(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	if _, err := s.EnqueueOutput(ctx, "shop", "orders", []byte(`"héllo"`)); err != nil {
		t.Fatal(err)
	}
	junk, err := s.Enqueue(ctx, "shop", "orders", []byte("not base64!"), Raw())
	if err != nil {
		t.Fatal(err)
	}
	peek, err := s.Peek(ctx, "shop", "orders", 2)
	if err != nil {
		t.Fatal(err)
	}
	if string(peek[0].Text) != "aMOpbGxv" || peek[1].Body != nil {
		t.Fatalf("stored %q and %q (body %v)", peek[0].Text, peek[1].Text, peek[1].Body)
	}
	ch := listen(t, s, "shop", "orders", testConfig(), func(*Message) error { return nil })
	if d := recv(t, ch, "delivery"); string(d.m.Body) != "héllo" {
		t.Fatalf("delivered body %q", d.m.Body)
	}
	// Text that does not decode goes straight to poison, uninvoked, as is.
	waitFor(t, "undecodable message in poison", func() bool { n, _ := s.Len(ctx, "shop", "orders-poison"); return n == 1 })
	p, err := s.Peek(ctx, "shop", "orders-poison", 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(p[0].Text) != "not base64!" || p[0].OriginalID != junk.ID {
		t.Fatalf("poison copy %+v", p[0])
	}
	select {
	case d := <-ch:
		t.Fatalf("undecodable message was delivered: %+v", d.m)
	default:
	}
}

func TestNoneEncodingDeliversTextAsIs(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	cfg := testConfig()
	cfg.MessageEncoding = None
	ch := listen(t, s, "shop", "orders", cfg, func(*Message) error { return nil }) // records cfg for outputs
	if _, err := s.EnqueueOutput(ctx, "shop", "orders", []byte(`"not base64!"`)); err != nil {
		t.Fatal(err)
	}
	d := recv(t, ch, "delivery")
	if string(d.m.Body) != "not base64!" || string(d.m.Text) != "not base64!" {
		t.Fatalf("delivered %+v", d.m)
	}
}

// TestConcurrencyBound releases handlers one at a time, only while more
// than newBatchThreshold are running, so the listener must refill up to
// batchSize+newBatchThreshold and never beyond.
func TestConcurrencyBound(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	const total = 40
	for i := range total {
		if _, err := s.Enqueue(ctx, "shop", "orders", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig()
	cfg.BatchSize, cfg.NewBatchThreshold = 4, 2
	var running, peak, handled atomic.Int64
	release := make(chan struct{})
	l, err := s.Listen(ctx, "shop", "orders", cfg, func(context.Context, *Message) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		handled.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for released := 0; released < total; released++ {
		waitFor(t, "a full set of handlers", func() bool {
			n := int(running.Load())
			return n > cfg.NewBatchThreshold || n >= total-released
		})
		release <- struct{}{}
		waitFor(t, "the handler to return", func() bool { return handled.Load() == int64(released+1) })
	}
	waitFor(t, "all handled", func() bool { return handled.Load() == total })
	if p := peak.Load(); p != int64(cfg.Bound()) {
		t.Fatalf("peak concurrency %d, want exactly the bound %d", p, cfg.Bound())
	}
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStopDrainsInFlight checks that Stop waits for running handlers and
// that their messages are acknowledged.
func TestStopDrainsInFlight(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	for range 3 {
		if _, err := s.Enqueue(ctx, "shop", "orders", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	started := make(chan struct{}, 3)
	release := make(chan struct{})
	l, err := s.Listen(ctx, "shop", "orders", testConfig(), func(context.Context, *Message) error {
		started <- struct{}{}
		<-release
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		recv(t, started, "handler start")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- l.Stop(ctx) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) with handlers running", err)
	default:
	}
	close(release)
	if err := recv(t, stopped, "Stop"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Len(ctx, "shop", "orders"); n != 0 {
		t.Fatalf("len %d after drain", n)
	}
	if err := l.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestStopGivesUpWhenContextEnds cancels a stuck handler's context.
func TestStopGivesUpWhenContextEnds(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	if _, err := s.Enqueue(ctx, "shop", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 1)
	var calls atomic.Int64
	l, err := s.Listen(ctx, "shop", "orders", testConfig(), func(hctx context.Context, _ *Message) error {
		calls.Add(1)
		started <- struct{}{}
		<-hctx.Done()
		return hctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, started, "handler start")
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Stop(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with a cancelled context: %v", err)
	}
	if err := l.Stop(ctx); err != nil {
		t.Fatalf("Stop after the handler gave up: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler called %d times; a stopped listener must not invoke it again", n)
	}
}

func TestListenRejectsBadConfig(t *testing.T) {
	s := newService(t, Options{})
	cfg := testConfig()
	cfg.BatchSize = 64
	if _, err := s.Listen(testCtx(t), "shop", "orders", cfg, func(context.Context, *Message) error { return nil }); err == nil {
		t.Fatal("batchSize 64 accepted")
	}
	if _, err := s.Listen(testCtx(t), "shop", "orders", testConfig(), nil); err == nil {
		t.Fatal("nil handler accepted")
	}
}
