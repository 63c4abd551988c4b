package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/table"
)

// waitMirrored waits until each named mirror in secondary holds the
// current last sequence of its origin in primary (asked directly, not
// through a Mirrorer's status, which may predate the last write).
func waitMirrored(t *testing.T, primary, secondary *region, streams ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%v caught up", streams), func() bool {
		origins, mirrors := streamNames(t, primary.b.JetStream()), streamNames(t, secondary.b.JetStream())
		for _, s := range streams {
			o, m := origins[rename(s, secondary.name, primary.name)], mirrors[s]
			if o == nil || m == nil || m.Config.Mirror == nil || m.State.LastSeq != o.State.LastSeq {
				return false
			}
		}
		return true
	})
}

func listenCfg() queue.Config {
	c := queue.DefaultConfig()
	c.MaxPollingInterval = 100 * time.Millisecond
	c.VisibilityTimeout = time.Hour // a failed message stays invisible for the test
	c.MessageEncoding = queue.None
	return c
}

// processEvenOnly runs a listener on east that completes messages with an
// even index and fails the odd ones, until each was seen once.
func processEvenOnly(t *testing.T, q *queue.Service, n int, acked *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	l, err := q.Listen(testCtx(t), "app", "orders", listenCfg(), func(_ context.Context, m *queue.Message) error {
		seen.Add(1)
		var i int
		fmt.Sscanf(string(m.Body), "m%d", &i)
		if i%2 == 1 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message handled once", func() bool { return seen.Load() == int64(n) && acked.Load() == int64(n/2) })
	if err := l.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// drain listens on q's app/orders and returns the bodies delivered until
// the queue is empty.
func drain(t *testing.T, q *queue.Service, want int) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	l, err := q.Listen(testCtx(t), "app", "orders", listenCfg(), func(_ context.Context, m *queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(m.Body))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "queue drained", func() bool {
		n, err := q.Len(testCtx(t), "app", "orders")
		mu.Lock()
		defer mu.Unlock()
		return err == nil && n == 0 && len(got) >= want
	})
	if err := l.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got
}

func TestPromoteRunsOnlyUnprocessedMessages(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	progress := startProgress(t, east.b)
	var acked atomic.Int64
	qe := newQueues(t, east.b, func(app, q string, seq uint64) {
		progress.OnAck(app, q, seq)
		acked.Add(1)
	})
	te := newTables(t, east.b)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "mirrorer ready", m.Ready)

	const n = 20
	for i := 0; i < n; i++ {
		if _, err := qe.Enqueue(ctx, "app", "orders", []byte(fmt.Sprintf("m%02d", i)), queue.Raw()); err != nil {
			t.Fatal(err)
		}
	}
	if err := te.CreateTable(ctx, "app", "Customers"); err != nil {
		t.Fatal(err)
	}
	ent := table.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]table.Value{"Name": table.String("Ada")}}
	if _, err := te.Insert(ctx, "app", "Customers", ent); err != nil {
		t.Fatal(err)
	}
	// A queue's first messages can be processed before its new mirror is
	// active (the reference's first-second caveat); here the mirror holds
	// them all first, so Promote has processed messages to drop.
	waitMirrored(t, east, west, "west_Q_app_orders")
	processEvenOnly(t, qe, n, &acked)
	if err := progress.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitMirrored(t, east, west, "KV_west_progress", "KV_west_T_app_customers", "KV_west_TC")
	if got := mirrorMsgs(t, west, "west_Q_app_orders"); got != n {
		t.Fatalf("queue mirror holds %d messages, want all %d (work-queue deletes are not mirrored)", got, n)
	}

	east.b.Shutdown() // the old primary is gone; the witness let its lease lapse
	report, err := m.Promote(ctx)
	if err != nil {
		t.Fatalf("promote: %v (report %+v)", err, report)
	}
	checkPromoted(t, report)

	qw := newQueues(t, west.b, nil)
	got := drain(t, qw, n/2)
	var want []string
	for i := 1; i < n; i += 2 {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after promotion delivered %v, want only the unprocessed %v", got, want)
	}
	checkTablesWritable(t, west)

	again, err := Promote(ctx, PromoteOptions{Broker: west.b, Primary: "east", Logger: quiet})
	if err != nil || len(again.Streams) != 0 {
		t.Fatalf("second promote: %+v %v", again, err)
	}
}

func mirrorMsgs(t *testing.T, r *region, stream string) uint64 {
	t.Helper()
	info := streamNames(t, r.b.JetStream())[stream]
	if info == nil {
		t.Fatalf("no stream %s in %s", stream, r.name)
	}
	return info.State.Msgs
}

func checkPromoted(t *testing.T, report *PromoteReport) {
	t.Helper()
	byName := map[string]PromotedStream{}
	for _, s := range report.Streams {
		byName[s.Stream] = s
	}
	q := byName["west_Q_app_orders"]
	if q.Dropped != 10 || q.Kept != 10 || q.Floor != 1 || q.LastSeq != 20 || q.Error != "" {
		t.Errorf("queue promotion: %+v, want 10 dropped, 10 kept, floor 1, last 20", q)
	}
	for _, name := range []string{"KV_west_progress", "KV_west_T_app_customers", "KV_west_TC"} {
		if s, ok := byName[name]; !ok || s.Error != "" {
			t.Errorf("%s not promoted: %+v", name, s)
		}
	}
	if report.Streams[0].Stream != "KV_west_progress" {
		t.Errorf("progress bucket promoted at position other than first: %+v", report.Streams)
	}
}

// checkTablesWritable reads the mirrored entity through a fresh table
// service on the promoted region and writes a new one.
func checkTablesWritable(t *testing.T, west *region) {
	t.Helper()
	ctx := testCtx(t)
	tw := newTables(t, west.b)
	e, err := tw.Get(ctx, "app", "Customers", "p", "r")
	if err != nil || e.Properties["Name"].Str != "Ada" {
		t.Fatalf("mirrored entity after promotion: %+v %v", e, err)
	}
	names, err := tw.ListTables(ctx, "app")
	if err != nil || fmt.Sprint(names) != "[Customers]" {
		t.Fatalf("catalog after promotion: %v %v", names, err)
	}
	n := table.Entity{PartitionKey: "p", RowKey: "r2", Properties: map[string]table.Value{"Name": table.String("Grace")}}
	if _, err := tw.Insert(ctx, "app", "Customers", n); err != nil {
		t.Fatalf("write after promotion: %v", err)
	}
}
