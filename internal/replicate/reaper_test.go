package replicate

import (
	"fmt"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

// TestReaperFreesWhatAnAbsentStandbyHeld: west mirrors east's work queue
// and goes away; east processes messages, which stay in its stream for
// west's durable mirror consumer. After the grace the reaper deletes that
// consumer and the processed messages go; a bound consumer is never
// deleted. West returns and its mirror picks up new messages.
func TestReaperFreesWhatAnAbsentStandbyHeld(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	qe := newQueues(t, east.b, nil)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	enqueue(t, qe, "orders", "a0", 0)
	waitMirrored(t, east, west, "west_Q_app_orders")

	clk := clock.NewFake(time.Now())
	r, err := NewReaper(ReaperOptions{Broker: east.b, Grace: time.Minute, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	reap := func(want int) {
		t.Helper()
		if n, err := r.pass(ctx); err != nil || n != want {
			t.Fatalf("reaper deleted %d (%v), want %d", n, err, want)
		}
	}
	reap(0)
	clk.Advance(2 * time.Minute)
	reap(0) // west's consumer is bound: never deleted

	_ = m.Shutdown(ctx)
	west.b.Shutdown()
	for i := 1; i <= 5; i++ {
		enqueue(t, qe, "orders", fmt.Sprintf("a%d", i), i)
	}
	if got := drain(t, qe, 6); len(got) != 6 {
		t.Fatalf("east processed %v", got)
	}
	if n := mirrorMsgs(t, east, "east_Q_app_orders"); n != 6 {
		t.Fatalf("east's queue stream holds %d processed messages, want all 6 (held for west's mirror consumer)", n)
	}
	reap(0) // first seen unbound
	clk.Advance(59 * time.Second)
	reap(0)
	clk.Advance(2 * time.Second)
	reap(1)
	waitFor(t, "processed messages gone from east", func() bool { return mirrorMsgs(t, east, "east_Q_app_orders") == 0 })

	url, err := LeafURL(east.b)
	if err != nil {
		t.Fatal(err)
	}
	west = startRegion(t, "west", west.dir, false, url)
	waitLinked(t, east, west)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	enqueue(t, qe, "orders", "b0", 10)
	waitMirrored(t, east, west, "west_Q_app_orders")
}
