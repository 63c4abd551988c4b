package timer

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/role"
)

// startReal starts a region on the real clock with an every-second timer
// whose fire times go to the returned channel.
func startReal(tb testing.TB) <-chan time.Time {
	tb.Helper()
	ctx := context.Background()
	b, err := broker.Start(ctx, broker.Options{Region: "east", Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Shutdown)
	rm := role.New(role.Options{Region: "east", JS: b.JetStream(), Bucket: b.Name("role"), Clock: clock.Real{}})
	if err := rm.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rm.Shutdown(ctx) })
	if _, err := rm.Apply(ctx, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{JS: b.JetStream(), StatusBucket: b.Name("timers"), LeaseBucket: b.Name("timerlease"), NodeID: "n1", Role: rm})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Shutdown(ctx) })
	fired := make(chan time.Time, 1024)
	err = s.Add("app1", "Tick", Spec{Schedule: "* * * * * *"}, func(context.Context, Info) error {
		fired <- time.Now()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fired
}

// lateness of a fire of an every-second schedule: the due time is the
// whole second it follows.
func lateness(at time.Time) time.Duration { return at.Sub(at.Truncate(time.Second)) }

// The real timer path (no polling) fires every second, once per second.
// The bound asserted here is deliberately loose so a loaded CI machine
// cannot fail it; BenchmarkFireLatency measures the 50 ms target.
func TestRealClockFiresEverySecond(t *testing.T) {
	fired := startReal(t)
	var prev time.Time
	for i := 0; i < 3; i++ {
		select {
		case at := <-fired:
			if l := lateness(at); l > 500*time.Millisecond {
				t.Fatalf("fire %d was %v after its second", i, l)
			}
			if !prev.IsZero() && at.Truncate(time.Second).Sub(prev.Truncate(time.Second)) != time.Second {
				t.Fatalf("fires at %s then %s: not one per second", prev.Format(time.StampMilli), at.Format(time.StampMilli))
			}
			prev = at
		case <-time.After(5 * time.Second):
			t.Fatal("timer did not fire")
		}
	}
}

// BenchmarkFireLatency reports how late an every-second timer fires on
// the real clock (one op = one tick, so use -benchtime=Nx):
//
//	go test -run XXX -bench FireLatency -benchtime 20x ./internal/timer
func BenchmarkFireLatency(b *testing.B) {
	fired := startReal(b)
	<-fired // skip the first tick, which may race start-up
	late := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		late = append(late, lateness(<-fired))
	}
	b.StopTimer()
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(late[len(late)/2]), "p50-late-ms")
	b.ReportMetric(ms(late[len(late)*99/100]), "p99-late-ms")
	b.ReportMetric(ms(late[len(late)-1]), "max-late-ms")
}
