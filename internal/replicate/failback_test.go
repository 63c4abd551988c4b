package replicate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/table"
)

// ids are fixed message ids so the story can retry one in the new primary.
func msgID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func enqueue(t *testing.T, q *queue.Service, name, body string, id int) {
	t.Helper()
	if _, err := q.Enqueue(testCtx(t), "app", name, []byte(body), queue.Raw(), queue.WithID(msgID(id))); err != nil {
		t.Fatal(err)
	}
}

func upsert(t *testing.T, tb *table.Service, rk, name string) {
	t.Helper()
	e := table.Entity{PartitionKey: "p", RowKey: rk, Properties: map[string]table.Value{"Name": table.String(name)}}
	if _, err := tb.Upsert(testCtx(t), "app", "Customers", e, table.Replace); err != nil {
		t.Fatal(err)
	}
}

// TestFailbackRescuesTailThenReseeds: east is primary and west mirrors it;
// the link breaks and east keeps accepting (async) writes; east dies with
// its disk; west is promoted and takes writes (one a client's retry of a
// message east had taken); east returns, rescues its tail into west and
// becomes west's mirror. Nothing is lost, nothing is duplicated, and the
// table conflict is resolved in west's favour and reported.
func TestFailbackRescuesTailThenReseeds(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	qe, te := newQueues(t, east.b, nil), newTables(t, east.b)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	for i := 0; i < 5; i++ {
		enqueue(t, qe, "orders", fmt.Sprintf("a%d", i), i)
	}
	if err := te.CreateTable(ctx, "app", "Customers"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		upsert(t, te, k, "v1")
	}
	waitMirrored(t, east, west, "west_Q_app_orders", "KV_west_T_app_customers", "KV_west_TC")
	_ = m.Shutdown(ctx)

	west.b.Shutdown() // the link breaks; east goes on alone (async mode)
	for i, body := range []string{"t0", "t1", "t2"} {
		enqueue(t, qe, "orders", body, 10+i)
	}
	enqueue(t, qe, "late", "l0", 20)
	enqueue(t, qe, "late", "l1", 21)
	upsert(t, te, "k1", "east-tail")
	upsert(t, te, "k2", "east-tail")
	if err := te.Delete(ctx, "app", "Customers", "p", "k3", "*"); err != nil {
		t.Fatal(err)
	}
	upsert(t, te, "k4", "east-new")
	east.b.Shutdown() // east dies; its disk survives

	west = startRegion(t, "west", west.dir, true)
	if _, err := Promote(ctx, PromoteOptions{Broker: west.b, Primary: "east", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	qw, tw := newQueues(t, west.b, nil), newTables(t, west.b)
	enqueue(t, qw, "orders", "w0", 30)
	enqueue(t, qw, "orders", "t1", 11) // a client retried t1 against west
	enqueue(t, qw, "orders", "w1", 31)
	upsert(t, tw, "k2", "west")

	url, err := LeafURL(west.b)
	if err != nil {
		t.Fatal(err)
	}
	east = startRegion(t, "east", east.dir, false, url)
	waitLinked(t, west, east)
	rescued, err := RescueTail(ctx, RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err != nil {
		t.Fatalf("rescue: %v %+v", err, rescued)
	}
	checkRescue(t, rescued)

	if _, err := Reseed(ctx, ReseedOptions{Broker: east.b, NewPrimary: "west", Logger: quiet}); err == nil {
		t.Fatal("reseed without a rescue report accepted")
	}
	reseeded, err := Reseed(ctx, ReseedOptions{Broker: east.b, NewPrimary: "west", Rescued: rescued, Logger: quiet})
	if err != nil {
		t.Fatalf("reseed: %v %+v", err, reseeded)
	}
	back := startMirrorer(t, Options{Broker: east.b, Primary: "west"})
	waitFor(t, "mirrorer ready", back.Ready)
	waitMirrored(t, west, east, "east_Q_app_orders", "east_Q_app_late", "KV_east_T_app_customers", "KV_east_progress")
	if n := mirrorMsgs(t, east, "east_Q_app_orders"); n != 10 {
		t.Errorf("east's new mirror holds %d messages, want west's 10", n)
	}

	got := drain(t, qw, 10)
	want := "[a0 a1 a2 a3 a4 t0 t1 t2 w0 w1]"
	if fmt.Sprint(got) != want {
		t.Fatalf("west delivered %v, want each of %s once", got, want)
	}
	checkTable(t, tw, map[string]string{"k1": "east-tail", "k2": "west", "k3": "", "k4": "east-new"})
}

func checkRescue(t *testing.T, r *RescueReport) {
	t.Helper()
	by := map[string]RescuedStream{}
	for _, s := range r.Streams {
		by[s.Stream] = s
	}
	checks := []struct {
		stream string
		ok     func(RescuedStream) bool
	}{
		{"east_Q_app_orders", func(s RescuedStream) bool {
			return s.From == 6 && s.Tail == 3 && s.Republished == 2 && s.Duplicates == 1 && !s.Created
		}},
		{"east_Q_app_late", func(s RescuedStream) bool { return s.From == 1 && s.Republished == 2 && s.Created }},
		{"KV_east_T_app_customers", func(s RescuedStream) bool {
			return s.Tail == 4 && s.Applied == 3 && len(s.Conflicts) == 1
		}},
		{"KV_east_TC", func(s RescuedStream) bool { return s.Tail == 0 && s.Error == "" }},
	}
	for _, c := range checks {
		if s, ok := by[c.stream]; !ok || !c.ok(s) {
			t.Errorf("rescue of %s: %+v", c.stream, s)
		}
	}
	if _, ok := by["KV_east_progress"]; ok {
		t.Error("the old primary's progress bucket was rescued")
	}
}

func checkTable(t *testing.T, tb *table.Service, want map[string]string) {
	t.Helper()
	for rk, name := range want {
		e, err := tb.Get(context.Background(), "app", "Customers", "p", rk)
		switch {
		case name == "" && err == nil:
			t.Errorf("%s: present (%v), want deleted", rk, e.Properties["Name"].Str)
		case name != "" && (err != nil || e.Properties["Name"].Str != name):
			t.Errorf("%s: %v %v, want %q", rk, e.Properties["Name"].Str, err, name)
		}
	}
}

// TestRescueWaitsForThePromotion: an old primary that learns of the new
// epoch before the new primary finished promoting must not write into
// mirrors; it waits, then finds nothing left to rescue and duplicates
// nothing.
func TestRescueWaitsForThePromotion(t *testing.T) {
	east, west := startPair(t)
	q := newQueues(t, east.b, nil)
	for i := 0; i < 3; i++ {
		enqueue(t, q, "orders", fmt.Sprintf("a%d", i), i)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrored(t, east, west, "west_Q_app_orders")

	early, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	report, err := RescueTail(early, RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "has not finished promoting") {
		t.Fatalf("rescue before the promotion: %v", err)
	}
	if _, err := Reseed(testCtx(t), ReseedOptions{Broker: east.b, NewPrimary: "west", Rescued: report, Logger: quiet}); err == nil {
		t.Fatal("reseed accepted a failed rescue")
	}
	failed := &RescueReport{Region: "east", NewPrimary: "west", Streams: []RescuedStream{{Stream: "east_Q_app_orders", Error: "boom"}}}
	if _, err := Reseed(testCtx(t), ReseedOptions{Broker: east.b, NewPrimary: "west", Rescued: failed, Logger: quiet}); err == nil {
		t.Fatal("reseed accepted a rescue report with a failure")
	}
	if _, err := m.Promote(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	report, err = RescueTail(testCtx(t), RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range report.Streams {
		if s.Stream == "east_Q_app_orders" && (s.From != 4 || s.Tail != 0 || s.Republished != 0) {
			t.Errorf("rescue after promotion: %+v, want no tail after sequence 3", s)
		}
	}
	if n, err := newQueues(t, west.b, nil).Len(testCtx(t), "app", "orders"); err != nil || n != 3 {
		t.Fatalf("west holds %d messages (%v), want 3", n, err)
	}
}
