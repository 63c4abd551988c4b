// Package queueflow benchmarks the whole queue path of a region, HTTP ->
// queue output -> queueTrigger -> handler, against raw JetStream publish
// and consume of the same messages in the same run.
//
//	go test -run XXX -bench . -benchtime 1x ./bench/queueflow/
package queueflow

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/bench/load"
	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/testbin"
)

const (
	messages = 20000
	workers  = 32
)

func BenchmarkQueueFlow(b *testing.B) {
	for i := 0; i < b.N; i++ {
		raw := rawJetStream(b)
		latFile := filepath.Join(b.TempDir(), "latencies")
		r := startRegion(b, latFile)
		flow := regionFlow(b, r, latFile)
		half := halfLoad(b, r, latFile, int(flow.rate/2), 4*time.Second)
		b.ReportMetric(raw.rate, "raw-msg/s")
		b.ReportMetric(flow.rate, "region-msg/s")
		b.ReportMetric(float64(raw.p50.Microseconds()), "raw-p50-µs")
		b.ReportMetric(float64(flow.p50.Microseconds()), "region-p50-µs")
		b.ReportMetric(float64(flow.p99.Microseconds()), "region-p99-µs")
		b.ReportMetric(float64(raw.cpu.Microseconds()), "raw-cpu-µs/msg")
		b.ReportMetric(float64(flow.cpu.Microseconds()), "region-cpu-µs/msg")
		b.ReportMetric(float64(flow.childCPU.Microseconds()), "handler-cpu-µs/msg")
		b.ReportMetric(float64(half.p50.Microseconds()), "half-p50-µs")
		b.ReportMetric(float64(half.p99.Microseconds()), "half-p99-µs")
		fmt.Printf("raw JetStream: %.0f msg/s, publish-to-consume p50 %s p99 %s\n", raw.rate, raw.p50, raw.p99)
		fmt.Printf("region HTTP->queue->handler: %.0f msg/s, enqueue-to-invocation p50 %s p99 %s\n", flow.rate, flow.p50, flow.p99)
		fmt.Printf("CPU per message: raw JetStream %s (with its load generator); region process %s (with the load generator), handler processes %s\n", raw.cpu, flow.cpu, flow.childCPU)
		fmt.Printf("region at half its peak (%d msg/s offered, open loop): %.0f msg/s, p50 %s p99 %s\n", int(flow.rate/2), half.rate, half.p50, half.p99)
		fmt.Printf("RESULT queue flow raw %.0f %s region %.0f %s ratio %.2f region-p99 %s half-rate %d half-p50 %s half-p99 %s cpu %d %d raw-cpu %d\n",
			raw.rate, raw.p50, flow.rate, flow.p50, flow.rate/raw.rate, flow.p99, int(flow.rate/2), half.p50, half.p99,
			flow.cpu.Microseconds(), flow.childCPU.Microseconds(), raw.cpu.Microseconds())
	}
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	// cpu is the CPU time per message of this process (region, NATS
	// server and load generator) and of its child processes (the
	// handlers), which moves far less with the machine's load than rate.
	cpu, childCPU time.Duration
}

// rawJetStream publishes messages from workers and consumes them with one
// pull consumer, timing send to receipt.
func rawJetStream(b *testing.B) result {
	ctx := context.Background()
	br, err := broker.Start(ctx, broker.Options{Region: "raw", Dir: b.TempDir(), Logger: quiet()})
	must(b, err)
	defer br.Shutdown()
	js := br.JetStream()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.q"}, Retention: jetstream.WorkQueuePolicy})
	must(b, err)
	cons, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 64})
	must(b, err)
	var lats []time.Duration
	var mu sync.Mutex
	done := make(chan struct{})
	var got atomic.Int64
	cc, err := cons.Consume(func(m jetstream.Msg) {
		sent, _ := strconv.ParseInt(string(m.Data()), 10, 64)
		mu.Lock()
		lats = append(lats, time.Duration(time.Now().UnixNano()-sent))
		mu.Unlock()
		_ = m.Ack()
		if got.Add(1) == messages {
			close(done)
		}
	})
	must(b, err)
	defer cc.Stop()
	start, self0 := time.Now(), selfCPU()
	parallel(workers, messages, func() {
		_, err := js.Publish(ctx, "raw.q", []byte(strconv.FormatInt(time.Now().UnixNano(), 10)))
		must(b, err)
	})
	<-done
	res := summarize(lats, time.Since(start))
	res.cpu = (selfCPU() - self0) / messages
	return res
}

// regionFlow posts messages from workers in a closed loop and waits until
// the queue trigger has seen them all.
func regionFlow(b *testing.B, r *region.Region, latFile string) result {
	c := load.Client(workers)
	url := r.URL() + "/api/submit"
	start, self0, child0 := time.Now(), selfCPU(), childrenCPU()
	parallel(workers, messages, func() { submit(b, c, url, time.Now()) })
	lats := waitLatencies(b, latFile, 0, messages)
	res := summarize(lats, time.Since(start))
	res.cpu = (selfCPU() - self0) / messages
	res.childCPU = (childrenCPU() - child0) / messages
	return res
}

// halfLoad offers rate messages per second for d in an open loop (each
// message starts at its scheduled time, which is its send time, so a
// generator or region that falls behind shows in the latency) and returns
// the send-to-invocation latencies of those messages.
func halfLoad(b *testing.B, r *region.Region, latFile string, rate int, d time.Duration) result {
	before := len(readLatencies(b, latFile))
	c := load.Client(256)
	url := r.URL() + "/api/submit"
	total := int(float64(rate) * d.Seconds())
	var wg sync.WaitGroup
	start := time.Now()
	for sent := 0; sent < total; {
		due := min(int(time.Since(start).Seconds()*float64(rate))+1, total)
		for ; sent < due; sent++ {
			at := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				submit(b, c, url, at)
			}()
		}
		next := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		if w := time.Until(next); w > 0 {
			time.Sleep(w) // pacing the generator, not waiting for a result
		}
	}
	wg.Wait()
	lats := waitLatencies(b, latFile, before, total)
	return summarize(lats, time.Since(start))
}

// submit posts one message whose body is its send time.
func submit(b *testing.B, c *http.Client, url string, sent time.Time) {
	resp, err := c.Post(url, "text/plain", strings.NewReader(strconv.FormatInt(sent.UnixNano(), 10)))
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		b.Errorf("submit: %d", resp.StatusCode)
	}
}

// waitLatencies polls latFile until it holds n records after the first
// skip, and returns those.
func waitLatencies(b *testing.B, latFile string, skip, n int) []time.Duration {
	var lats []time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	for len(lats) < skip+n && time.Now().Before(deadline) {
		lats = readLatencies(b, latFile)
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if len(lats) < skip+n {
		b.Fatalf("only %d of %d messages processed", len(lats)-skip, n)
	}
	return lats[skip : skip+n]
}

func readLatencies(b *testing.B, path string) []time.Duration {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	must(b, err)
	var out []time.Duration
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if n, err := strconv.ParseInt(line, 10, 64); err == nil {
			out = append(out, time.Duration(n))
		}
	}
	return out
}

func startRegion(b *testing.B, latFile string) *region.Region {
	exe := testbin.Build(b, "bench/queueflow/handler")
	dir := filepath.Join(b.TempDir(), "flow")
	files := map[string]string{
		"host.json": `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"` + exe + `"},"enableForwardingHttpRequest":true},` +
			`"extensions":{"queues":{"batchSize":32,"newBatchThreshold":32,"messageEncoding":"none"}}}`,
		"submit/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["post"]},` +
			`{"type":"http","direction":"out","name":"res"},{"type":"queue","direction":"out","name":"msg","queueName":"work"}]}`,
		"drain/function.json": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"work"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"LATENCY_FILE":"` + latFile + `"}}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		must(b, os.MkdirAll(filepath.Dir(p), 0o755))
		must(b, os.WriteFile(p, []byte(body), 0o644))
	}
	r, err := region.New(region.Options{Name: "bench", HTTPAddr: "127.0.0.1:0", DataDir: b.TempDir(), Apps: []region.AppSpec{{Dir: dir}}, Logger: quiet()})
	must(b, err)
	must(b, r.Start(context.Background()))
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r
}

func parallel(workers, n int, f func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				f()
			}
		}()
	}
	wg.Wait()
}

func summarize(lats []time.Duration, elapsed time.Duration) result {
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	return result{rate: float64(len(lats)) / elapsed.Seconds(), p50: load.Percentile(lats, 0.5), p99: load.Percentile(lats, 0.99)}
}

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the user and system time so far of the running child
// processes (the handler instances), from /proc (0 elsewhere).
func childrenCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	var ticks int64
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state ppid ... utime(12) stime(13).
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 || f[1] != self {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
