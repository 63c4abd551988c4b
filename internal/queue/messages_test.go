package queue

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

func TestCreateQueueMetadataRules(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	tests := []struct {
		name        string
		meta        map[string]string
		wantCreated bool
		wantErr     error
	}{
		{"new", map[string]string{"owner": "ann"}, true, nil},
		{"same metadata", map[string]string{"owner": "ann"}, false, nil},
		{"other metadata", map[string]string{"owner": "bob"}, false, ErrQueueExists},
	}
	for _, tt := range tests {
		created, err := s.CreateQueue(ctx, "shop", "orders", tt.meta)
		if created != tt.wantCreated || !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: created=%v err=%v", tt.name, created, err)
		}
	}
	// Declaring the queue (an app's binding) keeps its metadata.
	if err := s.Declare(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	s.Forget()
	if err := s.Declare(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetProperties(ctx, "shop", "orders")
	if err != nil || !maps.Equal(p.Metadata, map[string]string{"owner": "ann"}) || p.Count != 0 {
		t.Fatalf("properties %+v %v", p, err)
	}
	if err := s.SetMetadata(ctx, "shop", "orders", map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	p, _ = s.GetProperties(ctx, "shop", "orders")
	if !maps.Equal(p.Metadata, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("after set: %+v", p.Metadata)
	}
	if err := s.DeleteQueue(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueue(ctx, "shop", "orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.Put(ctx, "shop", "orders", []byte("x"), PutOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("put to a deleted queue: %v", err)
	}
}

func TestListQueuesPrefixAndPaging(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	for _, q := range []string{"alpha", "beta-1", "beta-2", "beta-3", "gamma"} {
		if _, err := s.CreateQueue(ctx, "shop", q, map[string]string{"n": q}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateQueue(ctx, "other", "beta-9", nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix, marker string
		max            int
		want           []string
		next           string
	}{
		{"", "", 10, []string{"alpha", "beta-1", "beta-2", "beta-3", "gamma"}, ""},
		{"beta", "", 2, []string{"beta-1", "beta-2"}, "beta-3"},
		{"beta", "beta-3", 2, []string{"beta-3"}, ""},
		{"zeta", "", 5, nil, ""},
	}
	for _, tt := range tests {
		page, err := s.ListQueues(ctx, "shop", tt.prefix, tt.marker, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range page.Queues {
			names = append(names, q.Name)
			if q.Metadata["n"] != q.Name {
				t.Errorf("%s: metadata %v", q.Name, q.Metadata)
			}
		}
		if !equalStrings(names, tt.want) || page.Next != tt.next {
			t.Errorf("list(%q, %q, %d) = %v next %q; want %v next %q", tt.prefix, tt.marker, tt.max, names, page.Next, tt.want, tt.next)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReceiveDeleteAndStaleReceipts(t *testing.T) {
	var mu sync.Mutex
	var acked []uint64
	s := newService(t, Options{OnAck: func(_, _ string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		acked = append(acked, seq)
	}})
	ctx := testCtx(t)
	mustCreate(t, s, "orders")
	put, err := s.Put(ctx, "shop", "orders", []byte("one"), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := receiveOne(t, s, time.Second)
	if got.ID != put.ID || got.DequeueCount != 1 || string(got.Text) != "one" {
		t.Fatalf("received %+v", got)
	}
	// Invisible: peek and receive see nothing; the put's receipt is stale.
	if p, _ := s.Peek(ctx, "shop", "orders", 1); len(p) != 0 {
		t.Fatalf("peek shows an invisible message: %+v", p)
	}
	if err := s.DeleteMessage(ctx, "shop", "orders", put.ID, put.PopReceipt); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("delete with the put's receipt after a dequeue: %v", err)
	}
	// After the visibility timeout it comes back, dequeue count 2.
	again := receiveOne(t, s, time.Minute)
	if again.ID != put.ID || again.DequeueCount != 2 {
		t.Fatalf("received again %+v", again)
	}
	if err := s.DeleteMessage(ctx, "shop", "orders", put.ID, got.PopReceipt); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("delete with the first dequeue's receipt: %v", err)
	}
	if err := s.DeleteMessage(ctx, "shop", "orders", put.ID, again.PopReceipt); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Len(ctx, "shop", "orders"); n != 0 {
		t.Fatalf("length after delete %d", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) != 1 || acked[0] != put.Sequence {
		t.Fatalf("OnAck %v, want [%d]", acked, put.Sequence)
	}
}

func TestUpdateMessageVisibilityAndText(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	mustCreate(t, s, "orders")
	put, err := s.Put(ctx, "shop", "orders", []byte("v1"), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := receiveOne(t, s, time.Minute)
	// Visibility only: visible again at once, same text, new receipt.
	u, err := s.UpdateMessage(ctx, "shop", "orders", put.ID, got.PopReceipt, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.PopReceipt == got.PopReceipt {
		t.Fatal("update kept the pop receipt")
	}
	if _, err := s.UpdateMessage(ctx, "shop", "orders", put.ID, got.PopReceipt, 0, nil); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("update with the old receipt: %v", err)
	}
	again := receiveOne(t, s, time.Minute)
	if again.DequeueCount != 2 || string(again.Text) != "v1" {
		t.Fatalf("after a visibility update: %+v", again)
	}
	// New text, visible in 1 s: same id, insertion time and dequeue count.
	u, err = s.UpdateMessage(ctx, "shop", "orders", put.ID, again.PopReceipt, time.Second, []byte("v2"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Peek(ctx, "shop", "orders", 1); len(p) != 0 {
		t.Fatalf("peek shows the updated message before its visibility: %+v", p)
	}
	waitFor(t, "updated message visible", func() bool {
		p, _ := s.Peek(ctx, "shop", "orders", 1)
		return len(p) == 1 && string(p[0].Text) == "v2" && p[0].ID == put.ID && p[0].DequeueCount == 2
	})
	third := receiveOne(t, s, time.Minute)
	if third.ID != put.ID || third.DequeueCount != 3 || string(third.Text) != "v2" || !third.InsertionTime.Equal(put.InsertionTime) {
		t.Fatalf("after a text update: %+v (put %+v)", third, put)
	}
	if err := s.DeleteMessage(ctx, "shop", "orders", put.ID, u.PopReceipt); !errors.Is(err, ErrMessageNotFound) {
		t.Fatalf("delete with the update's receipt after a dequeue: %v", err)
	}
	if err := s.DeleteMessage(ctx, "shop", "orders", put.ID, third.PopReceipt); err != nil {
		t.Fatal(err)
	}
}

func TestPutVisibilityAndTTL(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	mustCreate(t, s, "orders")
	late, err := s.Put(ctx, "shop", "orders", []byte("late"), PutOptions{Visibility: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	short, err := s.Put(ctx, "shop", "orders", []byte("short"), PutOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !short.ExpirationTime.Equal(short.InsertionTime.Add(time.Second)) {
		t.Fatalf("expiration %v insertion %v", short.ExpirationTime, short.InsertionTime)
	}
	if p, _ := s.Peek(ctx, "shop", "orders", 32); len(p) != 1 || p[0].ID != short.ID {
		t.Fatalf("peek before either time: %+v", p)
	}
	if n, _ := s.Len(ctx, "shop", "orders"); n != 2 {
		t.Fatalf("count %d, want 2 (invisible messages count)", n)
	}
	// A receive before the visibility time hands the late message back
	// (not a dequeue); its first dequeue later has count 1. The short-lived
	// one, dequeued for 1 s, has expired when it is fetched again and is
	// deleted.
	first, err := s.Receive(ctx, "shop", "orders", MaxReceive, time.Second)
	if err != nil || len(first) != 1 || first[0].ID != short.ID {
		t.Fatalf("first receive %+v %v", first, err)
	}
	got := receiveOne(t, s, time.Minute)
	if got.ID != late.ID || got.DequeueCount != 1 {
		t.Fatalf("received %+v; want %s with dequeue count 1", got, late.ID)
	}
	waitFor(t, "the expired message deleted", func() bool {
		_, _ = s.Receive(ctx, "shop", "orders", 1, time.Minute)
		n, _ := s.Len(ctx, "shop", "orders")
		return n == 1
	})
}

func TestClearReportsPurgedAsProcessed(t *testing.T) {
	acked := map[uint64]bool{}
	var mu sync.Mutex
	s := newService(t, Options{OnAck: func(_, _ string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		acked[seq] = true
	}})
	ctx := testCtx(t)
	mustCreate(t, s, "orders")
	for range 3 {
		if _, err := s.Put(ctx, "shop", "orders", []byte("x"), PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Clear(ctx, "shop", "orders"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) != 3 || !acked[1] || !acked[3] {
		t.Fatalf("acked %v", acked)
	}
}

func mustCreate(t *testing.T, s *Service, queue string) {
	t.Helper()
	if _, err := s.CreateQueue(testCtx(t), "shop", queue, nil); err != nil {
		t.Fatal(err)
	}
}

// receiveOne polls Receive (visibility vis) until it returns a message.
func receiveOne(t *testing.T, s *Service, vis time.Duration) Message {
	t.Helper()
	var got []Message
	waitFor(t, "a message to receive", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		got, err = s.Receive(ctx, "shop", "orders", 1, vis)
		if err != nil {
			t.Fatal(err)
		}
		return len(got) == 1
	})
	return got[0]
}

func TestPutFiresTheTriggerAfterItsVisibility(t *testing.T) {
	s := newService(t, Options{})
	ctx := testCtx(t)
	mustCreate(t, s, "orders")
	got := make(chan Message, 1)
	l, err := s.Listen(ctx, "shop", "orders", testConfig(), func(_ context.Context, m *Message) error {
		got <- *m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Stop(ctx) }()
	put, err := s.Put(ctx, "shop", "orders", []byte("aGVsbG8="), PutOptions{Visibility: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := recv(t, got, "trigger")
	if m.ID != put.ID || string(m.Body) != "hello" || m.DequeueCount != 1 {
		t.Fatalf("trigger got %+v", m)
	}
	if time.Since(put.InsertionTime) < time.Second {
		t.Fatalf("fired %s after the put, before its visibility timeout", time.Since(put.InsertionTime))
	}
}
