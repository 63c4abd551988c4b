package blob

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/storage"
)

// testEnv is a Service over a real embedded JetStream, served over HTTP.
type testEnv struct {
	svc    *Service
	ctx    context.Context
	url    string // http://127.0.0.1:port
	client *azblob.Client
	key    []byte
}

const testAccount = "shop"

func newEnv(t *testing.T, tune func(*Options)) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := broker.Start(ctx, broker.Options{Region: "east", Dir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	key := make([]byte, 64)
	_, _ = rand.Read(key)
	opts := Options{Broker: b, Logger: logger, AccountKey: func(_ context.Context, account string) ([]byte, error) {
		if account != testAccount {
			return nil, storage.AuthFailed("no storage account %q", account)
		}
		return key, nil
	}}
	if tune != nil {
		tune(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(DefaultPathPrefix+"/", svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	env := &testEnv{svc: svc, ctx: ctx, url: srv.URL, key: key}
	env.client = sdkClient(t, env.connString())
	return env
}

func (env *testEnv) connString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + testAccount + ";AccountKey=" +
		base64.StdEncoding.EncodeToString(env.key) + ";BlobEndpoint=" + env.url + DefaultPathPrefix + "/" + testAccount + ";"
}

func sdkClient(t *testing.T, conn string) *azblob.Client {
	t.Helper()
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	c, err := azblob.NewClientFromConnectionString(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || (code != "" && re.ErrorCode != code) {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
