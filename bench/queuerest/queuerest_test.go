// Package queuerest_test benchmarks the Queue REST endpoint
// (queue.RESTHandler) with the official azqueue SDK, sending and
// receiving, against raw JetStream on the same embedded broker in the
// same run. Figures and how to read them: bench/README.md ("Queue REST").
//
//	go test -run XXX -bench . -benchtime 5000x -count 3 ./bench/queuerest/
package queuerest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/queue"
)

const (
	app      = "bench"
	workers  = 8   // concurrent clients, in every benchmark alike
	batch    = 32  // messages per receive, in every receive benchmark alike
	bodySize = 128 // bytes of message text
)

var (
	fx     *broker.Broker
	svc    *queue.Service
	client *azqueue.ServiceClient
	serial atomic.Int64
	text   = strings.Repeat("x", bodySize)
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "queuerest-bench")
	if err != nil {
		panic(err)
	}
	srv, err := start(dir)
	if err != nil {
		panic(err)
	}
	code := m.Run()
	srv.Close()
	_ = svc.Shutdown(context.Background())
	fx.Shutdown()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// start runs a broker, the queue service, its REST endpoint on
// 127.0.0.1 and an SDK client signing with a random account key.
func start(dir string) (*httptest.Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	if fx, err = broker.Start(ctx, broker.Options{Region: "east", Dir: dir, Logger: quiet}); err != nil {
		return nil, err
	}
	if svc, err = queue.New(queue.Options{Broker: fx, Logger: quiet}); err != nil {
		return nil, err
	}
	key := make([]byte, 64)
	_, _ = rand.Read(key)
	mux := http.NewServeMux()
	mux.Handle("/queues/", svc.RESTHandler(queue.RESTOptions{PathPrefix: "/queues",
		Keys: func(context.Context, string) ([]byte, error) { return key, nil }}))
	srv := httptest.NewServer(mux)
	cs := "DefaultEndpointsProtocol=http;AccountName=" + app + ";AccountKey=" + base64.StdEncoding.EncodeToString(key) +
		";QueueEndpoint=" + srv.URL + "/queues/" + app + ";"
	client, err = azqueue.NewServiceClientFromConnectionString(cs, &azqueue.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1},
			Transport: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}}})
	return srv, err
}

// newQueue creates a fresh queue through the service.
func newQueue(b *testing.B) string {
	b.Helper()
	name := fmt.Sprintf("q-%d", serial.Add(1))
	if _, err := svc.CreateQueue(context.Background(), app, name, nil); err != nil {
		b.Fatal(err)
	}
	return name
}

// rawStream is a work-queue stream of the same shape as a queue's, with
// its own subject, for the baseline.
func rawStream(b *testing.B) (jetstream.Stream, string) {
	b.Helper()
	n := serial.Add(1)
	subj := fmt.Sprintf("bench.raw.%d", n)
	st, err := fx.JetStream().CreateStream(context.Background(), jetstream.StreamConfig{
		Name: fmt.Sprintf("raw_%d", n), Subjects: []string{subj}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return st, subj
}

func report(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkSendRawJetStream: synchronous publishes with a message id,
// as the queue service publishes.
func BenchmarkSendRawJetStream(b *testing.B) {
	_, subj := rawStream(b)
	js := fx.JetStream()
	b.SetParallelism(workers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint(serial.Add(1))
			if _, err := js.Publish(context.Background(), subj, []byte(text), jetstream.WithMsgID(id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	report(b)
}

// BenchmarkSendREST: the SDK's EnqueueMessage, one message a request.
func BenchmarkSendREST(b *testing.B) {
	q := client.NewQueueClient(newQueue(b))
	b.SetParallelism(workers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.EnqueueMessage(context.Background(), text, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	report(b)
}

// fill stores n messages in a queue before a receive benchmark.
func fill(b *testing.B, name string, n int) {
	b.Helper()
	for range n {
		if _, err := svc.Enqueue(context.Background(), app, name, []byte(text), queue.Raw()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReceiveRawJetStream: pull batches of 32 from the durable
// consumer and acknowledge (delete) each message.
func BenchmarkReceiveRawJetStream(b *testing.B) {
	st, subj := rawStream(b)
	ctx := context.Background()
	for i := range b.N {
		if _, err := fx.JetStream().Publish(ctx, subj, []byte(text), jetstream.WithMsgID(fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000})
	if err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	b.SetParallelism(workers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for done.Load() < int64(b.N) {
			msgs, err := cons.FetchNoWait(batch)
			if err != nil {
				b.Error(err)
				return
			}
			for m := range msgs.Messages() {
				if err := m.DoubleAck(ctx); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		}
		for pb.Next() {
		}
	})
	report(b)
}

// BenchmarkReceiveREST: the SDK's DequeueMessages (32 at a time) and a
// DeleteMessage with the pop receipt for each.
func BenchmarkReceiveREST(b *testing.B) {
	name := newQueue(b)
	fill(b, name, b.N)
	q := client.NewQueueClient(name)
	ctx := context.Background()
	var done atomic.Int64
	b.SetParallelism(workers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for done.Load() < int64(b.N) {
			got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(batch))})
			if err != nil {
				b.Error(err)
				return
			}
			for _, m := range got.Messages {
				if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		}
		for pb.Next() {
		}
	})
	report(b)
}
