package region

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/tandemhq/tandem/internal/role"
)

// The Queue REST endpoint and the bindings share the queues: a message
// the SDK sends fires the queueTrigger as an output binding's does, and
// an output binding's message is the SDK's to read.

// withMessageEncoding sets host.json extensions.queues.messageEncoding
// of an example app folder.
func withMessageEncoding(t *testing.T, dir, enc string) {
	t.Helper()
	path := filepath.Join(dir, "host.json")
	var host map[string]any
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &host) != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	host["extensions"].(map[string]any)["queues"].(map[string]any)["messageEncoding"] = enc
	writeJSONFile(t, path, host)
}

// TestSDKMessageFiresQueueTrigger: an order sent with the SDK to
// hello-go's "orders" queue is processed by process-order (a queueTrigger
// with a table output), under both message encodings: base64, the SDKs'
// usual encoding and the Functions default, and none.
func TestSDKMessageFiresQueueTrigger(t *testing.T) {
	tests := []struct {
		encoding string
		encode   func(string) string
	}{
		{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
		{"none", func(s string) string { return s }},
	}
	for _, tt := range tests {
		t.Run(tt.encoding, func(t *testing.T) {
			dir := exampleApp(t, "hello-go", nil)
			withMessageEncoding(t, dir, tt.encoding)
			tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Dir: dir}} })
			key := tr.keyValue("/admin/host/functionkeys", "default")
			q := queueService(t, tr, "hello-go").NewQueueClient("orders")
			if _, err := q.EnqueueMessage(sdkCtx(t), tt.encode(`{"id":"42","body":"sent with the SDK"}`), nil); err != nil {
				t.Fatal(err)
			}
			row := processedRow(t, tr, key, "42")
			if row["Body"] != "sent with the SDK" {
				t.Fatalf("row of the SDK's order: %v", row)
			}
		})
	}
}

// processedRow polls GET /api/orders/<id> until process-order stored it.
func processedRow(t *testing.T, tr *testRegion, key, id string) map[string]any {
	t.Helper()
	var row map[string]any
	eventually(t, "order "+id+" processed", func() bool {
		r := tr.do("GET", "/api/orders/"+id, key, "")
		if r.code == 200 {
			row = r.json(t)
		}
		return r.code == 200
	})
	return row
}

// TestOutputBindingMessageReadBySDK: with process-order disabled, the
// order the items function writes through its queue output binding is
// peeked, dequeued (base64, as the binding encodes it) and deleted with
// the SDK.
func TestOutputBindingMessageReadBySDK(t *testing.T) {
	dir := exampleApp(t, "hello-go", map[string]string{"AzureWebJobs.process-order.Disabled": "true"})
	tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Dir: dir}} })
	key := tr.keyValue("/admin/host/functionkeys", "default")
	if r := tr.do("POST", "/api/orders/7", key, "order 7"); r.code != 202 {
		t.Fatalf("POST order 7: %d %s", r.code, r.body)
	}
	q := queueService(t, tr, "hello-go").NewQueueClient("orders")
	ctx := sdkCtx(t)
	got, err := q.DequeueMessage(ctx, &azqueue.DequeueMessageOptions{VisibilityTimeout: to.Ptr(int32(60))})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("dequeue the output binding's message: %+v %v", got.Messages, err)
	}
	m := got.Messages[0]
	body, err := base64.StdEncoding.DecodeString(*m.MessageText)
	if err != nil {
		t.Fatalf("message text %q is not base64: %v", *m.MessageText, err)
	}
	var order struct{ ID, Body string }
	if err := json.Unmarshal(body, &order); err != nil || order.ID != "7" || order.Body != "order 7" || *m.DequeueCount != 1 {
		t.Fatalf("order read with the SDK: %s (%v), dequeue count %d", body, err, *m.DequeueCount)
	}
	if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	if n := queueLen(t, tr, "hello-go", "orders"); n != 0 {
		t.Fatalf("orders holds %d after the SDK deleted the message", n)
	}
}

// TestSDKMessagesSurviveFailover: messages sent with the SDK to east
// are in west's mirror (peeked and counted there with the SDK, whose
// writes west refuses naming east); one east deleted does not come back;
// a send to west as it is named primary is held until its promotion; then
// the SDK dequeues the rest from west.
func TestSDKMessagesSurviveFailover(t *testing.T) {
	p := startPair(t, map[string]string{"AzureWebJobs.process-order.Disabled": "true"})
	ctx := sdkCtx(t)
	east := queueService(t, p.east, "hello-go")
	if _, err := east.CreateQueue(ctx, "sdk-jobs", nil); err != nil {
		t.Fatal(err)
	}
	eq := east.NewQueueClient("sdk-jobs")
	var ids []string
	for _, text := range []string{"job 1", "job 2", "job 3"} {
		r, err := eq.EnqueueMessage(ctx, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *r.Messages[0].MessageID)
	}
	got, err := eq.DequeueMessage(ctx, nil)
	if err != nil || len(got.Messages) != 1 || *got.Messages[0].MessageID != ids[0] {
		t.Fatalf("dequeue in east: %+v %v", got.Messages, err)
	}
	if _, err := eq.DeleteMessage(ctx, ids[0], *got.Messages[0].PopReceipt, nil); err != nil {
		t.Fatal(err)
	}

	wq := queueService(t, p.west, "hello-go").NewQueueClient("sdk-jobs")
	eventually(t, "west's replica counts east's two jobs", func() bool {
		props, err := wq.GetProperties(ctx, nil)
		return err == nil && *props.ApproximateMessagesCount == 2
	})
	peek, err := wq.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(peek.Messages) != 2 || *peek.Messages[0].MessageID != ids[1] || *peek.Messages[1].MessageText != "job 3" {
		t.Fatalf("peek in west: %+v %v", peek.Messages, err)
	}
	_, err = wq.EnqueueMessage(ctx, "to west", nil)
	wantCode(t, "enqueue to the secondary", err, 503, "ServerBusy")
	var re *azcore.ResponseError
	if errors.As(err, &re) && (re.RawResponse.Header.Get("Retry-After") == "" || !strings.Contains(err.Error(), "primary region east")) {
		t.Fatalf("the refusal has no Retry-After or does not name east: %v %v", re.RawResponse.Header, err)
	}

	setRole(t, p.east, role.Request{Role: role.Secondary, Epoch: 1, Primary: "west"})
	setRole(t, p.west, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)})
	// Sent the moment west is named primary: held until its promotion, not refused.
	if _, err := wq.EnqueueMessage(ctx, "job 4", nil); err != nil {
		t.Fatalf("an SDK send to west while it is promoted: %v", err)
	}
	waitMode(t, p.west, "primary")
	all, err := wq.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(all.Messages) != 3 || *all.Messages[0].MessageID != ids[1] || *all.Messages[1].MessageID != ids[2] ||
		*all.Messages[2].MessageText != "job 4" {
		t.Fatalf("dequeue in the promoted west: %+v %v, want jobs 2, 3 and 4", all.Messages, err)
	}
	for _, m := range all.Messages {
		if _, err := wq.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
			t.Fatal(err)
		}
	}
}
