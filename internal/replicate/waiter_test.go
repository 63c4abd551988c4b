package replicate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/table"
)

// startWaiter starts a Waiter; fallback is how long it trusts
// notifications alone (a minute proves a test passes on them alone).
func startWaiter(t *testing.T, r *region, fallback time.Duration, secondaries ...string) *Waiter {
	t.Helper()
	w, err := NewWaiter(WaiterOptions{Broker: r.b, Secondaries: secondaries, Fallback: fallback, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return w
}

// inMirror reports whether west's mirror of stream holds seq.
func inMirror(t *testing.T, west *region, stream string, seq uint64) bool {
	t.Helper()
	st, err := west.b.JetStream().Stream(testCtx(t), stream)
	if err != nil {
		return false
	}
	_, err = st.GetMsg(testCtx(t), seq)
	return err == nil
}

func TestSyncWritesAreInTheSecondaryWhenAcknowledged(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	w := startWaiter(t, east, time.Minute, "west") // notifications only: no poll within the test
	q := newQueues(t, east.b, nil)
	tb := newTables(t, east.b)
	if err := tb.CreateTable(ctx, "app", "Orders"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		m, err := q.Enqueue(ctx, "app", "orders", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WaitQueue(ctx, "app", "orders", m.Sequence); err != nil {
			t.Fatal(err)
		}
		if !inMirror(t, west, "west_Q_app_orders", m.Sequence) {
			t.Fatalf("message %d acknowledged in sync mode but not in the secondary", m.Sequence)
		}
		e, err := tb.Insert(ctx, "app", "Orders", table.Entity{PartitionKey: "p", RowKey: fmt.Sprint(i), Properties: map[string]table.Value{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WaitTable(ctx, "app", "Orders", e.ETag); err != nil {
			t.Fatal(err)
		}
		rev, _ := parseETag(e.ETag)
		if !inMirror(t, west, "KV_west_T_app_orders", rev) {
			t.Fatalf("entity %s acknowledged in sync mode but not in the secondary", e.ETag)
		}
	}
}

func TestSyncAckSurvivesPrimaryKill(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	w := startWaiter(t, east, 0, "west")
	q := newQueues(t, east.b, nil)
	var want []string
	for i := 0; i < 25; i++ {
		body := fmt.Sprintf("m%02d", i)
		msg, err := q.Enqueue(ctx, "app", "orders", []byte(body), queue.Raw())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WaitQueue(ctx, "app", "orders", msg.Sequence); err != nil {
			t.Fatal(err)
		}
		want = append(want, body)
	}
	east.b.Server().Shutdown() // kill right after the last acknowledgement: no drain
	report, err := m.Promote(ctx)
	if err != nil {
		t.Fatalf("promote: %v %+v", err, report)
	}
	got := drain(t, newQueues(t, west.b, nil), len(want))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the kill the secondary delivered %v, want %v", got, want)
	}
}

func TestSyncWaitFailsWithoutSecondaryCopy(t *testing.T) {
	east, _ := startPair(t) // no mirrorer in west: nothing is mirrored
	w := startWaiter(t, east, 0, "west")
	q := newQueues(t, east.b, nil)
	m, err := q.Enqueue(testCtx(t), "app", "orders", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	if err := w.WaitQueue(ctx, "app", "orders", m.Sequence); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait without a mirror: %v, want deadline exceeded", err)
	}
	// Once the message is gone from the primary (processed), there is
	// nothing left to replicate and the wait returns.
	st, err := east.b.JetStream().Stream(testCtx(t), "east_Q_app_orders")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(testCtx(t), m.Sequence); err != nil {
		t.Fatal(err)
	}
	if err := w.WaitQueue(testCtx(t), "app", "orders", m.Sequence); err != nil {
		t.Fatalf("wait for a processed message: %v", err)
	}
	if err := (&Waiter{opts: WaiterOptions{}}).WaitReplicated(testCtx(t), "s", 1); !errors.Is(err, ErrNoSecondaries) {
		t.Fatalf("no secondaries: %v", err)
	}
	_ = w.Shutdown(context.Background())
	if err := w.WaitQueue(testCtx(t), "app", "orders", m.Sequence+1); !errors.Is(err, ErrWaiterClosed) {
		t.Fatalf("after shutdown: %v", err)
	}
}

func TestParseNotifyAndETag(t *testing.T) {
	notes := []struct {
		subject, seq string
		ok           bool
		sec, stream  string
		n            uint64
	}{
		{"tandem.west.repl.east_Q_app_orders.tandem.west.q.app.orders", "12", true, "west", "east_Q_app_orders", 12},
		{"tandem.west.repl.KV_east_TC.$KV.west_TC.app.t", "3", true, "west", "KV_east_TC", 3},
		{"tandem.west.repl.east_Q_app_orders", "1", false, "", "", 0},
		{"tandem.west.other.s.x", "1", false, "", "", 0},
		{"tandem.west.repl.s.x", "", false, "", "", 0},
		{"tandem.west.repl.s.x", "18446744073709551616", false, "", "", 0},
		{"tandem.west.repl.s.x", "-1", false, "", "", 0},
	}
	for _, tt := range notes {
		sec, stream, n, ok := parseNotify(tt.subject, tt.seq)
		if ok != tt.ok || sec != tt.sec || stream != tt.stream || n != tt.n {
			t.Errorf("parseNotify(%s, %s) = %s %s %d %v", tt.subject, tt.seq, sec, stream, n, ok)
		}
	}
	etags := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{`W/"42"`, 42, true}, {`W/"0"`, 0, false}, {`"42"`, 0, false}, {`W/"4x"`, 0, false}, {`W/"07"`, 0, false}, {`W/"`, 0, false},
	}
	for _, tt := range etags {
		got, err := parseETag(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseETag(%s) = %d %v", tt.in, got, err)
		}
	}
}

func FuzzParseNotify(f *testing.F) {
	f.Add("tandem.west.repl.east_Q_a_b.tandem.west.q.a.b", "7")
	f.Add("tandem..repl..x", "99999999999999999999")
	f.Fuzz(func(t *testing.T, subject, seq string) {
		sec, stream, _, ok := parseNotify(subject, seq)
		if ok && (sec == "" || stream == "") {
			t.Fatalf("accepted empty parts: %q %q", subject, seq)
		}
	})
}

func FuzzParseETag(f *testing.F) {
	f.Add(`W/"1"`)
	f.Add(`W/"18446744073709551615"`)
	f.Fuzz(func(t *testing.T, etag string) {
		rev, err := parseETag(etag)
		if err == nil && table.FormatETag(rev) != etag {
			t.Fatalf("%q parsed as %d which formats as %q", etag, rev, table.FormatETag(rev))
		}
	})
}

// TestSyncWaitRequiredOfThree: with two secondaries, a write waits for as
// many as Required says: one is enough when only west mirrors (south, say,
// is down), both are not.
func TestSyncWaitRequiredOfThree(t *testing.T) {
	east, west := startPair(t)
	link(t, east, "south", t.TempDir()) // no mirrorer: south stores nothing
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	q := newQueues(t, east.b, nil)
	for _, c := range []struct {
		required int
		stored   bool
	}{{1, true}, {2, false}, {0, false}} {
		w, err := NewWaiter(WaiterOptions{Broker: east.b, Secondaries: []string{"west", "south"}, Required: c.required, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		m, err := q.Enqueue(testCtx(t), "app", "orders", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
		err = w.WaitQueue(ctx, "app", "orders", m.Sequence)
		cancel()
		_ = w.Shutdown(context.Background())
		switch {
		case c.stored && err != nil:
			t.Errorf("required %d: %v, want stored (west has it)", c.required, err)
		case !c.stored && !errors.Is(err, context.DeadlineExceeded):
			t.Errorf("required %d: %v, want a deadline (south never stores)", c.required, err)
		case c.stored && !inMirror(t, west, "west_Q_app_orders", m.Sequence):
			t.Errorf("required %d: acknowledged but not in west", c.required)
		}
	}
}
