package replicate

import (
	"fmt"
	"testing"
	"time"
)

// mirrorState is a local mirror's last sequence and whether its consumer
// on the origin is up (active, no error).
func mirrorState(t *testing.T, r *region, name string) (last uint64, active bool, err string) {
	t.Helper()
	info := streamNames(t, r.b.JetStream())[name]
	if info == nil || info.Mirror == nil {
		return 0, false, "no mirror"
	}
	if info.Mirror.Error != nil {
		err = info.Mirror.Error.Error()
	}
	return info.State.LastSeq, info.Mirror.Active >= 0 && info.Mirror.Error == nil, err
}

// waitMirrorUp waits until name's mirror in r is up and holds last: the
// server retries a refused mirror consumer after 10 s (then backs off to
// 2 min), so this allows 40 s.
func waitMirrorUp(t *testing.T, r *region, name string, last uint64) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		got, active, err := mirrorState(t, r, name)
		if active && got == last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's mirror %s: last sequence %d, active %v, error %q; want %d, active", r.name, name, got, active, err, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPendingMessageSurvivesRejoinedStandbyRestart: after a planned
// failover, the old primary rejoins as the new primary's standby and is
// then restarted. Its mirror's consumer on the new primary's work queue
// acknowledges what it copied; the promoted queue, which no listener
// declared (no trigger), must still hold its pending message, and the
// restarted standby's mirror must come back.
func TestPendingMessageSurvivesRejoinedStandbyRestart(t *testing.T) {
	west := startRegion(t, "west", t.TempDir(), true)
	east := link(t, west, "east", t.TempDir()) // east dials: it can restart
	ctx := testCtx(t)
	enqueue(t, newQueues(t, east.b, nil), "orders", "pending", 1)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrored(t, east, west, "west_Q_app_orders")
	if _, err := m.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	rescued, err := RescueTail(ctx, RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Reseed(ctx, ReseedOptions{Broker: east.b, NewPrimary: "west", Rescued: rescued, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	back := startMirrorer(t, Options{Broker: east.b, Primary: "west"})
	waitFor(t, "east's mirrors ready", back.Ready)
	_ = back.Shutdown(ctx)

	east.b.Shutdown()
	url, err := LeafURL(west.b)
	if err != nil {
		t.Fatal(err)
	}
	east = startRegion(t, "east", east.dir, false, url)
	waitLinked(t, west, east)
	startMirrorer(t, Options{Broker: east.b, Primary: "west"})
	waitMirrorUp(t, east, "east_Q_app_orders", 1)
	waitFor(t, "the restarted mirror's consumer to acknowledge what it copied", func() bool {
		return mirrorConsumerAcked(t, west, "west_Q_app_orders", "east") >= 1
	})
	if n, err := newQueues(t, west.b, nil).Len(ctx, "app", "orders"); err != nil || n != 1 {
		t.Fatalf("after the standby's restart the new primary's queue holds %d messages (%v), want the pending one", n, err)
	}
	if got := drain(t, newQueues(t, west.b, nil), 1); len(got) != 1 || got[0] != "pending" {
		t.Fatalf("west delivered %v, want [pending]", got)
	}
}

// TestRestartedStandbyMirrorsWorkQueue: a standby restarted on its data,
// then rebuilt on an empty directory, mirrors the primary's work queue
// (which has its listeners' worker consumer) again at once, though its
// former incarnation's consumer is still on the queue.
func TestRestartedStandbyMirrorsWorkQueue(t *testing.T) {
	east, west := startPair(t)
	q := newQueues(t, east.b, nil)
	enqueue(t, q, "orders", "m0", 0)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrored(t, east, west, "west_Q_app_orders")

	url, err := LeafURL(east.b)
	if err != nil {
		t.Fatal(err)
	}
	west.b.Shutdown()
	west = startRegion(t, "west", west.dir, false, url)
	waitLinked(t, east, west)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	enqueue(t, q, "orders", "m1", 1)
	waitMirrorUp(t, west, "west_Q_app_orders", 2)

	west.b.Shutdown()
	west = startRegion(t, "west", t.TempDir(), false, url) // rebuilt
	waitLinked(t, east, west)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrorUp(t, west, "west_Q_app_orders", 2)
	if n := mirrorMsgs(t, west, "west_Q_app_orders"); n != 2 {
		t.Fatalf("the rebuilt standby's mirror holds %d messages, want the 2 pending", n)
	}
	if n, err := q.Len(testCtx(t), "app", "orders"); err != nil || n != 2 {
		t.Fatalf("the primary's queue holds %d messages (%v), want 2", n, err)
	}
}

// TestProcessedMessagesNotCountedWhileStandbyDown: with the standby down,
// its mirror consumer keeps processed messages in the primary's work
// queue until it copies them; the primary's queue length and peek count
// only what its own listeners have not processed.
func TestProcessedMessagesNotCountedWhileStandbyDown(t *testing.T) {
	east, west := startPair(t)
	q := newQueues(t, east.b, nil)
	enqueue(t, q, "orders", "m0", 0)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitMirrored(t, east, west, "west_Q_app_orders")
	west.b.Shutdown() // the standby is down: its consumer stays on east's queue
	for i := 1; i <= 4; i++ {
		enqueue(t, q, "orders", fmt.Sprintf("m%d", i), i)
	}
	if got := drain(t, q, 5); len(got) != 5 {
		t.Fatalf("processed %v, want 5 messages", got)
	}
	if held := streamNames(t, east.b.JetStream())["east_Q_app_orders"].State.Msgs; held == 0 {
		t.Fatal("the work queue holds nothing for the down standby: the test no longer shows the case")
	}
	if n, err := q.Len(testCtx(t), "app", "orders"); err != nil || n != 0 {
		t.Fatalf("queue length %d (%v) after processing everything, want 0", n, err)
	}
	if msgs, err := q.Peek(testCtx(t), "app", "orders", 32); err != nil || len(msgs) != 0 {
		t.Fatalf("peek shows %d processed messages (%v), want none", len(msgs), err)
	}
}

// mirrorConsumerAcked is the ack floor of the mirror consumer region
// domain holds on r's stream (0 when there is none).
func mirrorConsumerAcked(t *testing.T, r *region, stream, domain string) uint64 {
	t.Helper()
	st, err := r.b.JetStream().Stream(testCtx(t), stream)
	if err != nil {
		return 0
	}
	l := st.ListConsumers(testCtx(t))
	var floor uint64
	for c := range l.Info() {
		if c.Config.Metadata["_nats.mirror.domain"] == domain {
			floor = max(floor, c.AckFloor.Stream)
		}
	}
	return floor
}
