package replicate

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// storedRecord reads a queue's progress record from region's bucket.
func storedRecord(t *testing.T, r *region, app, queue string) record {
	t.Helper()
	kv, err := r.b.JetStream().KeyValue(testCtx(t), ProgressBucket(r.name))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := loadRecord(testCtx(t), kv, progressKey(app, queue))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func flush(t *testing.T, ps ...*Progress) {
	t.Helper()
	for _, p := range ps {
		if err := p.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProgressMergesNodesCompactsAndReloads(t *testing.T) {
	east := startRegion(t, "east", t.TempDir(), false)
	ctx := testCtx(t)
	q := newQueues(t, east.b, nil)
	for i := 0; i < 12; i++ {
		if _, err := q.Enqueue(ctx, "app", "orders", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Two nodes of the region record acks of the same queue.
	p1, p2 := startProgress(t, east.b), startProgress(t, east.b)
	p1.OnAck("app", "orders", 2)
	p1.OnAck("app", "orders", 3)
	p2.OnAck("app", "orders", 5)
	flush(t, p1, p2)
	p1.OnAck("app", "orders", 1) // p1's revision is stale now: CAS conflict, merge
	flush(t, p1)
	if got := storedRecord(t, east, "app", "orders"); got.Floor != 3 || fmt.Sprint(got.Acked) != "[[5 5]]" {
		t.Fatalf("merged record %+v, want floor 3 and [5,5]", got)
	}

	// Messages 1-8 leave the work queue (here: cleared); compaction raises
	// the floor from the stream's first sequence.
	st, err := east.b.JetStream().Stream(ctx, "east_Q_app_orders")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(9)); err != nil {
		t.Fatal(err)
	}
	p2.OnAck("app", "orders", 11)
	waitFor(t, "floor raised to 8 by compaction", func() bool {
		flush(t, p1, p2)
		got := storedRecord(t, east, "app", "orders")
		return got.Floor == 8 && fmt.Sprint(got.Acked) == "[[11 11]]"
	})

	// A restarted recorder continues from the stored record.
	p3 := startProgress(t, east.b)
	p3.OnAck("app", "orders", 9)
	flush(t, p3)
	if got := storedRecord(t, east, "app", "orders"); got.Floor != 9 || fmt.Sprint(got.Acked) != "[[11 11]]" {
		t.Fatalf("after restart %+v, want floor 9 and [11,11]", got)
	}
}

func TestProgressNeverWritesThroughAMirror(t *testing.T) {
	east, west := startPair(t)
	pe := startProgress(t, east.b)
	pe.OnAck("app", "orders", 1)
	flush(t, pe)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrored(t, east, west, "KV_west_progress")

	pw := startProgress(t, west.b) // a secondary that (wrongly) acks
	pw.OnAck("app", "orders", 7)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	if err := pw.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush in a secondary: %v, want it to never store", err)
	}
	if pw.Ready() {
		t.Error("ready while its writes fail")
	}
	if got := storedRecord(t, east, "app", "orders"); got.Floor != 1 || len(got.Acked) != 0 {
		t.Fatalf("the primary's record changed through the mirror: %+v", got)
	}
	sctx, scancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer scancel()
	if err := pw.Shutdown(sctx); err == nil {
		t.Error("shutdown reported the unstored ack as stored")
	}
}
