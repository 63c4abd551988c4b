package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/clock"
)

func TestDeclareCreatesWorkQueueStream(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	if err := s.Declare(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	st, err := s.js.Stream(ctx, "east_Q_shop_orders")
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.Retention != jetstream.WorkQueuePolicy || cfg.Storage != jetstream.FileStorage ||
		cfg.MaxAge != DefaultTTL || len(cfg.Subjects) != 1 || cfg.Subjects[0] != "tandem.east.q.shop.orders" {
		t.Fatalf("stream config %+v", cfg)
	}
	cons, err := st.Consumer(ctx, consumerName)
	if err != nil {
		t.Fatal(err)
	}
	if cc := cons.CachedInfo().Config; cc.AckWait != DefaultLease || cc.AckPolicy != jetstream.AckExplicitPolicy {
		t.Fatalf("consumer config %+v", cc)
	}
	for _, bad := range [][2]string{{"shop", "Orders"}, {"shop", "o"}, {"sh.op", "orders"}, {"", "orders"}} {
		if err := s.Declare(ctx, bad[0], bad[1]); err == nil {
			t.Errorf("Declare(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestEnqueueStoresIDsTimesAndEncoding(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, Options{Clock: clock.NewFake(start)})
	ctx := testCtx(t)
	if err := s.SetConfig("plain", Config{BatchSize: 1, MaxPollingInterval: time.Second, MaxDequeueCount: 1, MessageEncoding: None}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ app, text string }{
		{"b64", "aGVsbG8="}, // default messageEncoding is base64
		{"plain", "hello"},
	}
	for _, tt := range tests {
		m, err := s.Enqueue(ctx, tt.app, "orders", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if !guidRE.MatchString(m.ID) || m.Sequence != 1 || string(m.Body) != "hello" || string(m.Text) != tt.text {
			t.Fatalf("%s: enqueued %+v", tt.app, m)
		}
		if !m.InsertionTime.Equal(start) || !m.ExpirationTime.Equal(start.Add(7*24*time.Hour)) {
			t.Fatalf("%s: times %v %v", tt.app, m.InsertionTime, m.ExpirationTime)
		}
		peek, err := s.Peek(ctx, tt.app, "orders", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(peek) != 1 || peek[0].ID != m.ID || string(peek[0].Text) != tt.text || string(peek[0].Body) != "hello" ||
			!peek[0].InsertionTime.Equal(start) {
			t.Fatalf("%s: peeked %+v", tt.app, peek)
		}
	}
}

func TestDuplicateIDsAreSuppressed(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	id := newID()
	first, err := s.Enqueue(ctx, "shop", "orders", []byte("a"), WithID(id))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Enqueue(ctx, "shop", "orders", []byte("a"), WithID(id))
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !again.Duplicate || again.ID != id || again.Sequence != first.Sequence {
		t.Fatalf("first %+v again %+v", first, again)
	}
	// Outputs retried with the same seed get the same ids and are dropped.
	for range 2 {
		if _, err := s.EnqueueOutput(ctx, "shop", "orders", json.RawMessage(`["x","y"]`), WithIDSeed("trigger-1/fn")); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Len(ctx, "shop", "orders"); err != nil || n != 3 {
		t.Fatalf("len %d, %v; want 3", n, err)
	}
	if _, err := s.Enqueue(ctx, "shop", "orders", nil, WithID("not-a-guid")); err == nil {
		t.Fatal("accepted a non-GUID id")
	}
}

func TestEnqueueOutputValueSemantics(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	tests := []struct {
		queue, value string
		want         []string
	}{
		{"strings", `"hello"`, []string{"hello"}},
		{"objects", `{"order": 1}`, []string{`{"order":1}`}},
		{"arrays", `["a", {"b": 2}, 3]`, []string{"a", `{"b":2}`, "3"}},
		{"nothing", `null`, nil},
	}
	for _, tt := range tests {
		msgs, err := s.EnqueueOutput(ctx, "shop", tt.queue, json.RawMessage(tt.value))
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(tt.want) {
			t.Fatalf("%s: %d messages, want %d", tt.queue, len(msgs), len(tt.want))
		}
		if len(tt.want) == 0 {
			continue
		}
		peek, err := s.Peek(ctx, "shop", tt.queue, MaxPeek)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(peek); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Fatalf("%s: stored %q, want %q", tt.queue, got, tt.want)
		}
	}
	if _, err := s.EnqueueOutput(ctx, "shop", "bad", json.RawMessage(`{`)); err == nil {
		t.Fatal("accepted invalid JSON")
	}
}

func bodies(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.Body))
	}
	return out
}

func TestLenClearListAndLimits(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	for i := range 5 {
		if _, err := s.Enqueue(ctx, "shop", "orders", []byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Enqueue(ctx, "shop", "audit", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, "other", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != (QueueInfo{"audit", 1}) || list[1] != (QueueInfo{"orders", 5}) {
		t.Fatalf("list %+v", list)
	}
	peek, err := s.Peek(ctx, "shop", "orders", 3)
	if err != nil || strings.Join(bodies(peek), "") != "abc" {
		t.Fatalf("peek %q %v", bodies(peek), err)
	}
	if err := s.Clear(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Len(ctx, "shop", "orders"); err != nil || n != 0 {
		t.Fatalf("len after clear %d %v", n, err)
	}
	if _, err := s.Len(ctx, "shop", "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("len of missing queue: %v", err)
	}
	if _, err := s.Peek(ctx, "shop", "orders", 33); err == nil {
		t.Fatal("peek 33 accepted")
	}
	if _, err := s.Enqueue(ctx, "shop", "orders", make([]byte, 49*1024)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("49 KiB base64 message: %v", err) // 49 KiB encodes to more than 64 KiB
	}
	if _, err := s.Enqueue(ctx, "shop", "orders", make([]byte, 48*1024)); err != nil {
		t.Fatalf("48 KiB message: %v", err)
	}
}

// TestRestartLosesNothing stops the broker with messages waiting and some
// delivered but unacknowledged; after a restart every unacknowledged
// message is delivered and no acknowledged one comes back.
func TestRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	s, err := New(Options{Broker: b, Lease: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	want := map[string]bool{}
	for i := range 25 {
		m, err := s.Enqueue(ctx, "shop", "orders", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		want[m.ID] = true
	}
	acked := takeWithoutListener(ctx, t, s, 5, 2)
	for _, id := range acked {
		delete(want, id)
	}
	b.Shutdown()

	b2 := startBroker(t, dir)
	s2 := newService(t, Options{Broker: b2, Lease: 500 * time.Millisecond})
	if n, err := s2.Len(ctx, "shop", "orders"); err != nil || n != 23 {
		t.Fatalf("after restart: len %d %v, want 23", n, err)
	}
	got := make(chan string, 100)
	l, err := s2.Listen(ctx, "shop", "orders", testConfig(), func(_ context.Context, m *Message) error {
		got <- m.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < len(want) {
		id := recv(t, got, "redelivery after restart")
		if !want[id] {
			t.Fatalf("message %s delivered again after it was acknowledged", id)
		}
		seen[id] = true
	}
	waitFor(t, "queue to drain", func() bool { n, _ := s2.Len(ctx, "shop", "orders"); return n == 0 })
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// takeWithoutListener fetches n messages and acknowledges the first acks.
func takeWithoutListener(ctx context.Context, t *testing.T, s *Service, n, acks int) []string {
	t.Helper()
	cons, err := s.js.Consumer(ctx, s.StreamName("shop", "orders"), consumerName)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	for msg := range batch.Messages() {
		if len(acked) < acks {
			if err := msg.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
			acked = append(acked, msg.Headers().Get("Nats-Msg-Id"))
		}
	}
	if len(acked) != acks {
		t.Fatalf("acked %d of %d", len(acked), acks)
	}
	return acked
}

// TestEnqueueRecreatesDeletedStream: a queue deleted behind the service's
// back fails one enqueue, then is recreated by the next.
func TestEnqueueRecreatesDeletedStream(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	if err := s.Declare(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.js.DeleteStream(ctx, s.StreamName("shop", "orders")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, "shop", "orders", []byte("x")); err == nil {
		t.Fatal("enqueue to a deleted stream succeeded")
	}
	if _, err := s.Enqueue(ctx, "shop", "orders", []byte("y")); err != nil {
		t.Fatalf("enqueue after recreation: %v", err)
	}
	if n, err := s.Len(ctx, "shop", "orders"); err != nil || n == 0 {
		t.Fatalf("len %d %v", n, err)
	}
}

// TestEnqueueOutputManyInOrder: an array output of more than one window of
// asynchronous publishes is stored once each, in array order, with the
// ids the seed derives; retried, every message is a duplicate; an element
// over the size limit stores nothing of its window.
func TestEnqueueOutputManyInOrder(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	const n = asyncWindow + 44
	elems := make([]string, n)
	for i := range elems {
		elems[i] = strconv.Quote(strconv.Itoa(i))
	}
	value := json.RawMessage("[" + strings.Join(elems, ",") + "]")
	first, err := s.EnqueueOutput(ctx, "shop", "many", value, WithIDSeed("t/fn"))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != n {
		t.Fatalf("%d messages, want %d", len(first), n)
	}
	for i, m := range first {
		if string(m.Body) != strconv.Itoa(i) || m.Duplicate || (i > 0 && m.Sequence <= first[i-1].Sequence) {
			t.Fatalf("message %d: body %q seq %d duplicate %v", i, m.Body, m.Sequence, m.Duplicate)
		}
		if m.ID != derivedID("t/fn", "many", strconv.Itoa(i)) {
			t.Fatalf("message %d: id %s not derived from the seed", i, m.ID)
		}
	}
	again, err := s.EnqueueOutput(ctx, "shop", "many", value, WithIDSeed("t/fn"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range again {
		if !m.Duplicate || m.Sequence != first[i].Sequence {
			t.Fatalf("retried message %d: duplicate %v seq %d, want seq %d", i, m.Duplicate, m.Sequence, first[i].Sequence)
		}
	}
	big := json.RawMessage(`["a",` + strconv.Quote(strings.Repeat("x", MaxTextSize)) + `]`)
	if _, err := s.EnqueueOutput(ctx, "shop", "many", big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized element: %v", err)
	}
	if l, err := s.Len(ctx, "shop", "many"); err != nil || l != n {
		t.Fatalf("len %d, %v; want %d", l, err, n)
	}
}
