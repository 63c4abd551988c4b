package queue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// restClient serves s's REST endpoint on 127.0.0.1 with a random key for
// account "shop" and returns an SDK client of queue "orders".
func restClient(t *testing.T, s *Service, o RESTOptions) *azqueue.QueueClient {
	t.Helper()
	key := make([]byte, 64)
	_, _ = rand.Read(key)
	o.PathPrefix = "/queues"
	o.Keys = func(_ context.Context, account string) ([]byte, error) {
		if account != "shop" {
			return nil, errors.New("no such account")
		}
		return key, nil
	}
	mux := http.NewServeMux()
	mux.Handle("/queues/", s.RESTHandler(o))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cs := "DefaultEndpointsProtocol=http;AccountName=shop;AccountKey=" + base64.StdEncoding.EncodeToString(key) +
		";QueueEndpoint=" + srv.URL + "/queues/shop;"
	c, err := azqueue.NewQueueClientFromConnectionString(cs, "orders", &azqueue.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRESTReportsStoredMessages: a put and an update with new text are
// reported to RESTOptions.Stored with their sequence before the answer
// (sync mode waits there); a failure there fails the request.
func TestRESTReportsStoredMessages(t *testing.T) {
	s := newService(t, Options{})
	var mu sync.Mutex
	var seqs []uint64
	fail := false
	q := restClient(t, s, RESTOptions{Stored: func(_ context.Context, app, queue string, seq uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if app != "shop" || queue != "orders" {
			t.Errorf("stored %s/%s", app, queue)
		}
		seqs = append(seqs, seq)
		if fail {
			return errors.New("secondaries did not confirm")
		}
		return nil
	}})
	ctx := testCtx(t)
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(ctx, "one", nil); err != nil {
		t.Fatal(err)
	}
	got, err := q.DequeueMessage(ctx, nil)
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("dequeue %v %v", got.Messages, err)
	}
	m := got.Messages[0]
	if _, err := q.UpdateMessage(ctx, *m.MessageID, *m.PopReceipt, "two", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Fatalf("stored sequences %v, want [1 2]", seqs)
	}
	fail = true
	mu.Unlock()
	_, err = q.EnqueueMessage(ctx, "three", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError {
		t.Fatalf("put whose replication failed: %v", err)
	}
}
