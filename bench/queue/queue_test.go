// Package queue_test benchmarks Tandem's queue layer (internal/queue)
// against raw JetStream on the same embedded broker in the same run:
// saturated throughput (4 producers) and closed-loop latency from enqueue
// to handler invocation. Figures and how to read them: bench/queue.md.
//
//	go test -run XXX -bench . -benchtime 20000x ./bench/queue/
package queue_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/queue"
)

const (
	app       = "bench"
	producers = 4
	bodySize  = 128
)

var (
	fx     *broker.Broker
	svc    *queue.Service
	serial atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "queue-bench")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fx, err = broker.Start(ctx, broker.Options{Region: "east", Dir: dir, Logger: quiet})
	cancel()
	if err != nil {
		panic(err)
	}
	svc, err = queue.New(queue.Options{Broker: fx, Logger: quiet})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = svc.Shutdown(context.Background())
	fx.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pipeline is one way to move messages: send stamps and stores a message,
// start begins consuming and calls got with each message's payload.
type pipeline struct {
	send  func(ctx context.Context, payload []byte) error
	start func(ctx context.Context, got func([]byte)) (stop func(), err error)
}

// rawPipeline is idiomatic JetStream: a work-queue stream, synchronous
// publish, a durable pull consumer consumed with a callback and Ack.
func rawPipeline(b *testing.B) pipeline {
	ctx := context.Background()
	name := fmt.Sprintf("raw%d", serial.Add(1))
	subj := fx.Subject("bench", name)
	st, err := fx.JetStream().CreateStream(ctx, jetstream.StreamConfig{
		Name: fx.Name("B", name), Subjects: []string{subj},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
	})
	if err != nil {
		b.Fatal(err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	return pipeline{
		send: func(ctx context.Context, p []byte) error { _, err := fx.JetStream().Publish(ctx, subj, p); return err },
		start: func(_ context.Context, got func([]byte)) (func(), error) {
			cc, err := cons.Consume(func(m jetstream.Msg) { got(m.Data()); _ = m.Ack() })
			if err != nil {
				return nil, err
			}
			return cc.Stop, nil
		},
	}
}

// queuePipeline is Enqueue plus Listen with a trivial handler, default
// host.json settings (batchSize 16, newBatchThreshold 8, base64).
func queuePipeline(b *testing.B) pipeline {
	q := fmt.Sprintf("bench-%d", serial.Add(1))
	cfg := queue.DefaultConfig()
	cfg.MaxPollingInterval = 100 * time.Millisecond
	return pipeline{
		send: func(ctx context.Context, p []byte) error { _, err := svc.Enqueue(ctx, app, q, p); return err },
		start: func(ctx context.Context, got func([]byte)) (func(), error) {
			l, err := svc.Listen(ctx, app, q, cfg, func(_ context.Context, m *queue.Message) error { got(m.Body); return nil })
			if err != nil {
				return nil, err
			}
			return func() { _ = l.Stop(context.Background()) }, nil
		},
	}
}

func stamp() []byte {
	p := make([]byte, bodySize)
	binary.BigEndian.PutUint64(p, uint64(time.Now().UnixNano()))
	return p
}

func since(p []byte) time.Duration {
	return time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(p))))
}

// latencies records enqueue-to-invocation times.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	q := func(f float64) float64 { return float64(l.d[int(f*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

var pipelines = []struct {
	name string
	make func(*testing.B) pipeline
}{{"jetstream", rawPipeline}, {"queue", queuePipeline}}

// BenchmarkThroughput: 4 producers store b.N messages while the consumer
// runs; msg/s counts from the first send to the last invocation.
func BenchmarkThroughput(b *testing.B) {
	for _, pl := range pipelines {
		b.Run(pl.name, func(b *testing.B) { throughput(b, pl.make(b)) })
	}
}

func throughput(b *testing.B, p pipeline) {
	ctx := context.Background()
	var lat latencies
	var n atomic.Int64
	done := make(chan struct{})
	stop, err := p.start(ctx, func(payload []byte) {
		lat.add(since(payload))
		if n.Add(1) == int64(b.N) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	produce(ctx, b, p, b.N)
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	lat.report(b)
}

func produce(ctx context.Context, b *testing.B, p pipeline, total int) {
	var wg sync.WaitGroup
	for w := range producers {
		count := total / producers
		if w < total%producers {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range count {
				if err := p.send(ctx, stamp()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkLatency sends one message at a time and waits for its
// invocation: the pipeline's own latency with nothing queued.
func BenchmarkLatency(b *testing.B) {
	for _, pl := range pipelines {
		b.Run(pl.name, func(b *testing.B) { latency(b, pl.make(b)) })
	}
}

func latency(b *testing.B, p pipeline) {
	ctx := context.Background()
	var lat latencies
	got := make(chan struct{}, 1)
	stop, err := p.start(ctx, func(payload []byte) { lat.add(since(payload)); got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := p.send(ctx, stamp()); err != nil {
			b.Fatal(err)
		}
		<-got
	}
	b.StopTimer()
	stop()
	lat.report(b)
}

// BenchmarkLatencyAt5k sends at 5,000 msg/s in total (the platform's
// target rate) from 4 paced producers and reports enqueue-to-invocation
// latency under that load.
func BenchmarkLatencyAt5k(b *testing.B) {
	for _, pl := range pipelines {
		b.Run(pl.name, func(b *testing.B) { paced(b, pl.make(b), 5000) })
	}
}

func paced(b *testing.B, p pipeline, rate int) {
	ctx := context.Background()
	var lat latencies
	var n atomic.Int64
	done := make(chan struct{})
	stop, err := p.start(ctx, func(payload []byte) {
		lat.add(since(payload))
		if n.Add(1) == int64(b.N) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	interval := time.Second * producers / time.Duration(rate)
	var wg sync.WaitGroup
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += producers {
				if d := time.Until(start.Add(time.Duration(i/producers) * interval)); d > 0 {
					time.Sleep(d) // pacing the load, not waiting for a result
				}
				if err := p.send(ctx, stamp()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	lat.report(b)
}

// BenchmarkOutputArray: one queue output binding whose value is an array
// of 32 messages (EnqueueOutput), from one goroutine, as an invocation
// writes it; msg/s counts the messages stored.
func BenchmarkOutputArray(b *testing.B) {
	const perOutput = 32
	elems := make([]string, perOutput)
	for i := range elems {
		elems[i] = fmt.Sprintf("%q", fmt.Sprint("message ", i))
	}
	value := []byte("[" + strings.Join(elems, ",") + "]")
	ctx := context.Background()
	queueName := fmt.Sprintf("outarray%d", serial.Add(1))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := svc.EnqueueOutput(ctx, app, queueName, value); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perOutput)/time.Since(start).Seconds(), "msg/s")
}
