// Package replicate_test measures cross-region replication on two embedded
// regions linked by a leafnode over TCP loopback (east primary, west
// secondary mirroring it with internal/replicate): the mirror lag of a
// queue at a steady 1,000 msg/s, and what sync mode (enqueue or table
// write, then Waiter.WaitReplicated) costs per write against async mode
// (acknowledged at once) in the same run. Figures: bench/replicate.md.
//
//	go test -run XXX -bench . -benchtime 10000x ./bench/replicate/
package replicate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/table"
)

const app = "bench"

var (
	east, west *broker.Broker
	queues     *queue.Service
	tables     *table.Service
	waiter     *replicate.Waiter
	mirrorer   *replicate.Mirrorer
	quiet      = benchLogger()
	runs       atomic.Int64 // makes every run's queue and table names unique
)

// benchLogger discards logs unless BENCH_LOG=1 (then warnings go to
// stderr, e.g. to see a mirror consumer being re-created during a run).
func benchLogger() *slog.Logger {
	if os.Getenv("BENCH_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func unique(prefix string) string { return prefix + strconv.FormatInt(runs.Add(1), 10) }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicate-bench")
	if err != nil {
		panic(err)
	}
	if err := setup(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = waiter.Shutdown(context.Background())
	_ = mirrorer.Shutdown(context.Background())
	west.Shutdown()
	east.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setup(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	if east, err = broker.Start(ctx, broker.Options{Region: "east", Dir: dir + "/east", LeafListen: "127.0.0.1:0", Logger: quiet}); err != nil {
		return err
	}
	url, err := replicate.LeafURL(east)
	if err != nil {
		return err
	}
	if west, err = broker.Start(ctx, broker.Options{Region: "west", Dir: dir + "/west", LeafRemotes: []string{url}, Logger: quiet}); err != nil {
		return err
	}
	if err := replicate.WaitLinked(ctx, west, "east"); err != nil {
		return err
	}
	if mirrorer, err = replicate.New(replicate.Options{Broker: west, Primary: "east", Logger: quiet}); err != nil {
		return err
	}
	if err := mirrorer.Start(ctx); err != nil {
		return err
	}
	if waiter, err = replicate.NewWaiter(replicate.WaiterOptions{Broker: east, Secondaries: []string{"west"}, Logger: quiet}); err != nil {
		return err
	}
	if err := waiter.Start(ctx); err != nil {
		return err
	}
	if queues, err = queue.New(queue.Options{Broker: east, Logger: quiet}); err != nil {
		return err
	}
	tables, err = table.New(table.Options{Broker: east, Logger: quiet})
	return err
}

// declare creates a queue and waits until west mirrors it and the
// mirror is active, so no measured message meets the first-second caveat.
func declare(b *testing.B, name string) {
	b.Helper()
	ctx := context.Background()
	m, err := queues.Enqueue(ctx, app, name, []byte("warm-up"))
	if err != nil {
		b.Fatal(err)
	}
	if err := waiter.WaitQueue(ctx, app, name, m.Sequence); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMirrorLag enqueues b.N messages at a steady 1,000 msg/s and
// measures, per message, the time from the enqueue call in east to the
// mirror's store notification seen by a subscriber in west (same process,
// same clock): the mirror lag a failover would see.
func BenchmarkMirrorLag(b *testing.B) {
	const rate = 1000
	name := unique("lag")
	declare(b, name)
	stored := make(chan int64, b.N+16)
	sub, err := west.Conn().Subscribe(fmt.Sprintf("tandem.west.repl.east_Q_%s_%s.>", app, name), func(*nats.Msg) {
		stored <- time.Now().UnixNano()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := west.Conn().Flush(); err != nil { // the server has the subscription
		b.Fatal(err)
	}
	sent := make([]int64, b.N)
	stop := watchStatus(b, "west_Q_"+app+"_"+name)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		sent[i] = time.Now().UnixNano()
		if _, err := queues.Enqueue(context.Background(), app, name, []byte("0123456789abcdef0123456789abcdef")); err != nil {
			b.Fatal(err)
		}
	}
	arrivals := collect(b, stored, b.N)
	b.StopTimer()
	stop()
	report(b, sent, arrivals, "ms")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

// watchStatus samples the Mirrorer's Status (refreshed every second) for
// stream until stopped, then reports the largest lag it showed.
func watchStatus(b *testing.B, stream string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var maxSecs float64
	var maxMsgs uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			for _, m := range mirrorer.Status().Mirrors {
				if m.Stream == stream {
					maxSecs, maxMsgs = max(maxSecs, m.LagSeconds), max(maxMsgs, m.LagMessages)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		b.ReportMetric(maxSecs, "status-max-lag-s")
		b.ReportMetric(float64(maxMsgs), "status-max-lag-msgs")
	}
}

// collect reads n arrival times (in store order, which is send order).
func collect(b *testing.B, ch chan int64, n int) []int64 {
	out := make([]int64, 0, n)
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case t := <-ch:
			out = append(out, t)
		case <-timeout:
			b.Fatalf("only %d of %d messages mirrored", len(out), n)
		}
	}
	return out
}

// report adds p50/p99/max of arrival-sent in unit (ms or us).
func report(b *testing.B, sent, arrived []int64, unit string) {
	d := make([]float64, len(sent))
	div := float64(time.Millisecond)
	if unit == "us" {
		div = float64(time.Microsecond)
	}
	for i := range sent {
		d[i] = float64(arrived[i]-sent[i]) / div
	}
	sort.Float64s(d)
	b.ReportMetric(d[len(d)/2], "p50-"+unit)
	b.ReportMetric(d[len(d)*99/100], "p99-"+unit)
	b.ReportMetric(d[len(d)-1], "max-"+unit)
}

// BenchmarkEnqueue: one writer, one enqueue at a time; sync also waits
// for west's mirror to store it.
func BenchmarkEnqueue(b *testing.B) {
	for _, mode := range []string{"async", "sync"} {
		b.Run(mode, func(b *testing.B) {
			name := unique("enq-" + mode)
			declare(b, name)
			timed(b, func(ctx context.Context) error {
				m, err := queues.Enqueue(ctx, app, name, []byte("0123456789abcdef0123456789abcdef"))
				if err != nil || mode == "async" {
					return err
				}
				return waiter.WaitQueue(ctx, app, name, m.Sequence)
			})
		})
	}
}

// BenchmarkTableInsert: one writer, one entity at a time.
func BenchmarkTableInsert(b *testing.B) {
	for _, mode := range []string{"async", "sync"} {
		b.Run(mode, func(b *testing.B) {
			name := unique("T" + mode)
			ctx := context.Background()
			if err := tables.CreateTable(ctx, app, name); err != nil {
				b.Fatal(err)
			}
			warm, err := tables.Insert(ctx, app, name, table.Entity{PartitionKey: "p", RowKey: "warm-up", Properties: map[string]table.Value{}})
			if err != nil {
				b.Fatal(err)
			}
			if err := waiter.WaitTable(ctx, app, name, warm.ETag); err != nil { // the bucket's mirror is active
				b.Fatal(err)
			}
			var n int
			timed(b, func(ctx context.Context) error {
				n++
				e, err := tables.Insert(ctx, app, name, table.Entity{PartitionKey: "p", RowKey: strconv.Itoa(n), Properties: map[string]table.Value{"V": table.Int32(int32(n))}})
				if err != nil || mode == "async" {
					return err
				}
				return waiter.WaitTable(ctx, app, name, e.ETag)
			})
		})
	}
}

// timed runs op b.N times and reports latency percentiles in µs.
func timed(b *testing.B, op func(context.Context) error) {
	ctx := context.Background()
	sent, done := make([]int64, b.N), make([]int64, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sent[i] = time.Now().UnixNano()
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
		done[i] = time.Now().UnixNano()
	}
	b.StopTimer()
	report(b, sent, done, "us")
}
