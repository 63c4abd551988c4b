// Package table_test benchmarks Tandem's table service: point reads and
// writes through the REST endpoint with the official aztables SDK, through
// the programmatic API the bindings use, and the raw JetStream KV get/put
// they are built on, measured in the same run. Figures: bench/table.md.
//
//	go test -run XXX -bench . -benchtime 3s ./bench/table/
package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/table"
)

const (
	app       = "bench"
	tableName = "Points"
	keys      = 256
)

// fixture is one broker, table service, HTTP endpoint and SDK client shared
// by all benchmarks (started on first use, stopped by TestMain).
type fixture struct {
	b      *broker.Broker
	svc    *table.Service
	srv    *httptest.Server
	client *aztables.Client
	kv     jetstream.KeyValue
	value  []byte // the stored form of a sample entity, for the KV baseline
	dir    string
}

var fx *fixture

func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		fx.srv.Close()
		fx.b.Shutdown()
		_ = os.RemoveAll(fx.dir)
	}
	os.Exit(code)
}

func sample(i int) map[string]any {
	return map[string]any{
		"PartitionKey": fmt.Sprintf("p%02d", i%16), "RowKey": fmt.Sprintf("r%04d", i),
		"Name": "customer name", "City": "Mountain View", "Age": 36, "Balance": 1234.5,
		"Active": true, "Visits@odata.type": "Edm.Int64", "Visits": "123456789012",
		"Since@odata.type": "Edm.DateTime", "Since": "2020-01-02T03:04:05.0000000Z",
		"Id@odata.type": "Edm.Guid", "Id": "c9da6455-213d-42c9-9a79-3e9149a57833",
	}
}

func setup(b *testing.B) *fixture {
	b.Helper()
	if fx != nil {
		return fx
	}
	f, err := newFixture()
	if err != nil {
		b.Fatal(err)
	}
	fx = f
	return fx
}

func newFixture() (*fixture, error) {
	ctx := context.Background()
	f := &fixture{}
	var err error
	if f.dir, err = os.MkdirTemp("", "tandem-table-bench"); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if f.b, err = broker.Start(ctx, broker.Options{Region: "east", Dir: f.dir, Logger: logger}); err != nil {
		return nil, err
	}
	if f.svc, err = table.New(table.Options{Broker: f.b, Logger: logger}); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(table.DefaultPathPrefix+"/", f.svc.Handler())
	f.srv = httptest.NewServer(mux)
	if err := f.seed(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *fixture) seed(ctx context.Context) error {
	acct, err := f.svc.EnsureAccount(ctx, app)
	if err != nil {
		return err
	}
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	sc, err := aztables.NewServiceClientFromConnectionString(acct.ConnectionString(f.srv.URL), opts)
	if err != nil {
		return err
	}
	if _, err := sc.CreateTable(ctx, tableName, nil); err != nil {
		return err
	}
	f.client = sc.NewClient(tableName)
	for i := range keys {
		if _, err := f.client.AddEntity(ctx, mustJSON(sample(i)), nil); err != nil {
			return err
		}
	}
	return f.seedBaseline(ctx)
}

// seedBaseline fills a plain KV bucket with values of the same size as the
// stored entities, under keys of the same shape.
func (f *fixture) seedBaseline(ctx context.Context) error {
	e, err := f.svc.Get(ctx, app, tableName, "p00", "r0000")
	if err != nil {
		return err
	}
	f.value, _ = e.MarshalJSON()
	f.kv, err = f.b.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: f.b.Name("bench", "kv"), History: 1})
	if err != nil {
		return err
	}
	for i := range keys {
		if _, err := f.kv.Put(ctx, baselineKey(i), f.value); err != nil {
			return err
		}
	}
	return nil
}

func baselineKey(i int) string { return fmt.Sprintf("kcDAw.kcjAw%04d", i) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func opsPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkPointRead(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.Run("kv-get-baseline", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.kv.Get(ctx, baselineKey(i%keys)); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("service-get", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.svc.Get(ctx, app, tableName, fmt.Sprintf("p%02d", i%keys%16), fmt.Sprintf("r%04d", i%keys)); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("rest-sdk-get", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.client.GetEntity(ctx, fmt.Sprintf("p%02d", i%keys%16), fmt.Sprintf("r%04d", i%keys), nil); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
}

func BenchmarkPointWrite(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	bodies := make([][]byte, keys)
	entities := make([]table.Entity, keys)
	for i := range keys {
		bodies[i] = mustJSON(sample(i))
		e, err := table.DecodeEntity(bodies[i])
		if err != nil {
			b.Fatal(err)
		}
		entities[i] = e
	}
	b.Run("kv-put-baseline", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.kv.Put(ctx, baselineKey(i%keys), f.value); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("service-upsert", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := f.svc.Upsert(ctx, app, tableName, entities[i%keys], table.Replace); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("rest-sdk-upsert", func(b *testing.B) {
		opts := &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}
		for i := 0; b.Loop(); i++ {
			if _, err := f.client.UpsertEntity(ctx, bodies[i%keys], opts); err != nil {
				b.Fatal(err)
			}
		}
		opsPerSecond(b)
	})
	b.Run("rest-sdk-update-etag", func(b *testing.B) {
		benchUpdateWithETag(b, f, bodies)
	})
}

// benchUpdateWithETag measures the optimistic-concurrency path: update with
// the ETag from the previous write (a read-check-CAS on the server).
func benchUpdateWithETag(b *testing.B, f *fixture, bodies [][]byte) {
	ctx := context.Background()
	etags := make([]azcore.ETag, keys)
	for i := range keys {
		got, err := f.client.GetEntity(ctx, fmt.Sprintf("p%02d", i%16), fmt.Sprintf("r%04d", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		etags[i] = got.ETag
	}
	for i := 0; b.Loop(); i++ {
		k := i % keys
		resp, err := f.client.UpdateEntity(ctx, bodies[k], &aztables.UpdateEntityOptions{IfMatch: &etags[k], UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			b.Fatal(err)
		}
		etags[k] = resp.ETag
	}
	opsPerSecond(b)
}
