// Package blob_test benchmarks Tandem's blob service: put and get of one
// blob through the REST endpoint with the official azblob SDK, against the
// raw JetStream object store Put/Get it is built on, in the same run, for a
// small (4 KiB) and a large (4 MiB) body. Figures: bench/README.md.
//
//	go test -run XXX -bench . -benchtime 2s ./bench/blob/
package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/broker"
)

const app = "bench"

// fixture is one broker, blob service, HTTP endpoint, SDK client and raw
// object store shared by all benchmarks.
type fixture struct {
	b      *broker.Broker
	srv    *httptest.Server
	client *azblob.Client
	raw    jetstream.ObjectStore
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

func setup(b *testing.B) *fixture {
	b.Helper()
	if fx != nil {
		return fx
	}
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "blobbench")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := broker.Start(ctx, broker.Options{Region: "east", Dir: dir, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 64)
	_, _ = rand.Read(key)
	svc, err := blob.New(blob.Options{Broker: br, Logger: logger,
		AccountKey: func(context.Context, string) ([]byte, error) { return key, nil }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(blob.DefaultPathPrefix+"/", svc.Handler())
	srv := httptest.NewServer(mux)
	conn := "DefaultEndpointsProtocol=http;AccountName=" + app + ";AccountKey=" + base64.StdEncoding.EncodeToString(key) +
		";BlobEndpoint=" + srv.URL + blob.DefaultPathPrefix + "/" + app + ";"
	client, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "bench", nil); err != nil {
		b.Fatal(err)
	}
	raw, err := br.JetStream().CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "east_rawbench", Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	fx = &fixture{b: br, srv: srv, client: client, raw: raw, dir: dir}
	return fx
}

var sizes = []int{4 << 10, 4 << 20}

func body(n int) []byte {
	data := make([]byte, n)
	_, _ = rand.Read(data)
	return data
}

func report(b *testing.B, n int) {
	b.SetBytes(int64(n))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkPut(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	for _, n := range sizes {
		data := body(n)
		b.Run(fmt.Sprintf("raw-objectstore/%dKiB", n>>10), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := f.raw.Put(ctx, jetstream.ObjectMeta{Name: fmt.Sprintf("o%d", i%16)}, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
			report(b, n)
		})
		b.Run(fmt.Sprintf("sdk-upload/%dKiB", n>>10), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := f.client.UploadBuffer(ctx, "bench", fmt.Sprintf("b%d", i%16), data, nil); err != nil {
					b.Fatal(err)
				}
			}
			report(b, n)
		})
	}
}

func BenchmarkGet(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	for _, n := range sizes {
		data := body(n)
		name := fmt.Sprintf("get-%d", n)
		if _, err := f.raw.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if _, err := f.client.UploadBuffer(ctx, "bench", name, data, nil); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("raw-objectstore/%dKiB", n>>10), func(b *testing.B) {
			for b.Loop() {
				got, err := f.raw.GetBytes(ctx, name)
				if err != nil || len(got) != n {
					b.Fatal(err)
				}
			}
			report(b, n)
		})
		b.Run(fmt.Sprintf("sdk-download/%dKiB", n>>10), func(b *testing.B) {
			for b.Loop() {
				resp, err := f.client.DownloadStream(ctx, "bench", name, nil)
				if err != nil {
					b.Fatal(err)
				}
				m, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || m != int64(n) {
					b.Fatal(err)
				}
			}
			report(b, n)
		})
	}
}
