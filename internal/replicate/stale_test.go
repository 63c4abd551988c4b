package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tandemhq/tandem/internal/queue"
)

// startHubbed starts a hub broker and the named regions, each linked to
// the hub only (the layout of three or more regions), and waits until
// every region reaches every other's JetStream. It returns the hub's
// leafnode URL, for regions restarted later.
func startHubbed(t *testing.T, names ...string) (string, []*region) {
	t.Helper()
	hub := startRegion(t, "hub", t.TempDir(), true)
	url, err := LeafURL(hub.b)
	if err != nil {
		t.Fatal(err)
	}
	var out []*region
	for _, n := range names {
		out = append(out, startRegion(t, n, t.TempDir(), false, url))
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			waitLinked(t, out[i], out[j])
		}
	}
	return url, out
}

// completeOnly runs a listener on q's app/orders that completes the
// message whose body is body and fails the others, until each of n
// messages was seen once.
func completeOnly(t *testing.T, q *queue.Service, body string, n int, acked *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	l, err := q.Listen(testCtx(t), "app", "orders", listenCfg(), func(_ context.Context, m *queue.Message) error {
		seen.Add(1)
		if string(m.Body) != body {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message handled once", func() bool { return seen.Load() == int64(n) && acked.Load() == 1 })
	if err := l.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// TestStaleMirrorTailRescuedBeforeRetarget: three regions, east primary,
// west and south mirroring it. West is down while east acknowledges more
// (as --sync-standbys one or quorum would, south alone storing it): two
// messages, one of them then processed, and two table writes. East is
// lost and west promoted. South's mirrors are stale; before it mirrors
// west instead, it writes into west what only it had: the unprocessed
// message and the table writes, not the processed message. When east
// returns, its own tail starts after what south rescued, so nothing is
// republished a second time.
func TestStaleMirrorTailRescuedBeforeRetarget(t *testing.T) {
	hub, rs := startHubbed(t, "east", "west", "south")
	east, west, south := rs[0], rs[1], rs[2]
	ctx := testCtx(t)
	progress := startProgress(t, east.b)
	var acked atomic.Int64
	qe := newQueues(t, east.b, func(app, q string, seq uint64) {
		progress.OnAck(app, q, seq)
		acked.Add(1)
	})
	te := newTables(t, east.b)
	mw := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	startMirrorer(t, Options{Broker: south.b, Primary: "east"})
	for i, body := range []string{"a0", "a1", "a2"} {
		enqueue(t, qe, "orders", body, i)
	}
	if err := te.CreateTable(ctx, "app", "Customers"); err != nil {
		t.Fatal(err)
	}
	upsert(t, te, "k1", "v1")
	waitMirrored(t, east, west, "west_Q_app_orders", "KV_west_T_app_customers", "KV_west_TC")

	_ = mw.Shutdown(ctx)
	west.b.Shutdown() // west is down; south alone stores what follows
	enqueue(t, qe, "orders", "t0", 10)
	enqueue(t, qe, "orders", "t1", 11)
	upsert(t, te, "k1", "south-only")
	upsert(t, te, "k2", "south-only")
	completeOnly(t, qe, "t0", 5, &acked)
	if err := progress.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitMirrored(t, east, south, "south_Q_app_orders", "KV_south_T_app_customers", "KV_south_TC", "KV_south_progress")
	east.b.Shutdown() // east is lost; its disk survives

	west = startRegion(t, "west", west.dir, false, hub)
	if _, err := Promote(ctx, PromoteOptions{Broker: west.b, Primary: "east", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	retargeted := startMirrorer(t, Options{Broker: south.b, Primary: "west"})
	waitFor(t, "south mirrors west", retargeted.Ready)
	if o, from, _ := originOf(streamNames(t, south.b.JetStream())["south_Q_app_orders"].Config); o != "west_Q_app_orders" || from != "west" {
		t.Fatalf("south's queue mirrors %s in %s, want west_Q_app_orders in west", o, from)
	}

	qw, tw := newQueues(t, west.b, nil), newTables(t, west.b)
	if got := fmt.Sprint(drain(t, qw, 4)); got != "[a0 a1 a2 t1]" {
		t.Fatalf("west delivered %v, want [a0 a1 a2 t1] (t0 was processed in east)", got)
	}
	checkTable(t, tw, map[string]string{"k1": "south-only", "k2": "south-only"})
	checkRescuedRecord(t, west, "west_Q_app_orders", 5)

	east = startRegion(t, "east", east.dir, false, hub)
	waitLinked(t, west, east)
	report, err := RescueTail(ctx, RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err != nil {
		t.Fatalf("east's rescue: %v %+v", err, report)
	}
	for _, s := range report.Streams {
		if s.Stream == "east_Q_app_orders" && (s.From != 6 || s.Republished != 0 || s.Duplicates != 0) {
			t.Errorf("east's own queue tail: %+v, want it to start at 6, after what south rescued", s)
		}
	}
}

func checkRescuedRecord(t *testing.T, r *region, stream string, through uint64) {
	t.Helper()
	kv, err := r.b.JetStream().KeyValue(testCtx(t), ProgressBucket(r.name))
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(testCtx(t), rescuedKey(stream))
	if err != nil {
		t.Fatalf("rescue record of %s: %v", stream, err)
	}
	var rec rescuedRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Through != through || rec.From != "east" || rec.By != "south" {
		t.Errorf("rescue record of %s: %+v (%v), want through %d from east by south", stream, rec, err, through)
	}
}
