package region

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/sas"
)

// Tests of the Queue REST endpoint (/queues/<app>) with the official
// azqueue SDK against a real region.

// queueService is an azqueue client from the app's connection string
// (which must name the queue endpoint); the SDK does not retry.
func queueService(t *testing.T, tr *testRegion, app string) *azqueue.ServiceClient {
	t.Helper()
	cs := connString(t, tr, app)
	if !strings.Contains(cs, "QueueEndpoint="+tr.URL()+"/queues/"+app+";") {
		t.Fatalf("connection string %q has no QueueEndpoint for %s", cs, app)
	}
	c, err := azqueue.NewServiceClientFromConnectionString(cs, &azqueue.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantCode checks that err is an Azure error with status and code.
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

func sdkCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func shopRegion(t *testing.T) *testRegion {
	return startRegion(t, nil, testApp{name: "shop", functions: map[string]string{"hello": httpFn("anonymous", "")}})
}

func TestQueueRESTQueuesWithSDK(t *testing.T) {
	tr := shopRegion(t)
	svc := queueService(t, tr, "shop")
	ctx := sdkCtx(t)
	meta := map[string]*string{"owner": to.Ptr("ann")}
	if _, err := svc.CreateQueue(ctx, "orders", &azqueue.CreateOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		meta map[string]*string
		code string
	}{
		{"same metadata", meta, ""},
		{"other metadata", map[string]*string{"owner": to.Ptr("bob")}, "QueueAlreadyExists"},
	}
	for _, tt := range tests {
		_, err := svc.CreateQueue(ctx, "orders", &azqueue.CreateOptions{Metadata: tt.meta})
		if tt.code == "" && err != nil {
			t.Fatalf("create again with %s: %v", tt.name, err)
		}
		if tt.code != "" {
			wantCode(t, "create with "+tt.name, err, http.StatusConflict, tt.code)
		}
	}
	for _, q := range []string{"orders-1", "orders-2", "other"} {
		if _, err := svc.CreateQueue(ctx, q, nil); err != nil {
			t.Fatal(err)
		}
	}
	assertListQueues(ctx, t, svc)
	q := svc.NewQueueClient("orders")
	if _, err := q.SetMetadata(ctx, &azqueue.SetMetadataOptions{Metadata: map[string]*string{"team": to.Ptr("blue")}}); err != nil {
		t.Fatal(err)
	}
	props, err := q.GetProperties(ctx, nil)
	if err != nil || props.ApproximateMessagesCount == nil || *props.ApproximateMessagesCount != 0 || len(props.Metadata) != 1 {
		t.Fatalf("properties %+v %v", props, err)
	}
	for k, v := range props.Metadata {
		if !strings.EqualFold(k, "team") || *v != "blue" {
			t.Fatalf("metadata %s=%s", k, *v)
		}
	}
	if _, err := svc.DeleteQueue(ctx, "orders", nil); err != nil {
		t.Fatal(err)
	}
	_, err = q.GetProperties(ctx, nil)
	wantCode(t, "properties of a deleted queue", err, http.StatusNotFound, "QueueNotFound")
	_, err = svc.CreateQueue(ctx, "Bad_Name", nil)
	wantCode(t, "create Bad_Name", err, http.StatusBadRequest, "InvalidResourceName")
}

// assertListQueues pages through "orders*" two at a time with metadata.
func assertListQueues(ctx context.Context, t *testing.T, svc *azqueue.ServiceClient) {
	t.Helper()
	pager := svc.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: to.Ptr("orders"), MaxResults: to.Ptr(int32(2)),
		Include: azqueue.ListQueuesInclude{Metadata: true}})
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, q := range page.Queues {
			names = append(names, *q.Name)
			if *q.Name == "orders" && (q.Metadata["owner"] == nil || *q.Metadata["owner"] != "ann") {
				t.Fatalf("listed metadata of orders: %v", q.Metadata)
			}
		}
	}
	if strings.Join(names, ",") != "orders,orders-1,orders-2" || pages != 2 {
		t.Fatalf("listed %v in %d pages, want orders,orders-1,orders-2 in 2", names, pages)
	}
}

func TestQueueRESTMessagesWithSDK(t *testing.T) {
	tr := shopRegion(t)
	svc := queueService(t, tr, "shop")
	ctx := sdkCtx(t)
	if _, err := svc.CreateQueue(ctx, "work", nil); err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient("work")
	put, err := q.EnqueueMessage(ctx, "first", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(3600))})
	if err != nil {
		t.Fatal(err)
	}
	sent := put.Messages[0]
	if sent.MessageID == nil || sent.PopReceipt == nil || sent.ExpirationTime.Sub(*sent.InsertionTime) != time.Hour {
		t.Fatalf("enqueued %+v", sent)
	}
	if _, err := q.EnqueueMessage(ctx, "later", &azqueue.EnqueueMessageOptions{VisibilityTimeout: to.Ptr(int32(600))}); err != nil {
		t.Fatal(err)
	}
	assertCount(ctx, t, q, 2)
	peek, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil || len(peek.Messages) != 1 || *peek.Messages[0].MessageText != "first" || *peek.Messages[0].DequeueCount != 0 {
		t.Fatalf("peek (the later message is invisible): %+v %v", peek.Messages, err)
	}
	got, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(32)), VisibilityTimeout: to.Ptr(int32(60))})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("dequeue: %+v %v", got.Messages, err)
	}
	m := got.Messages[0]
	if *m.MessageID != *sent.MessageID || *m.DequeueCount != 1 || *m.MessageText != "first" || m.TimeNextVisible.Sub(time.Now()) < 50*time.Second {
		t.Fatalf("dequeued %+v", m)
	}
	upd, err := q.UpdateMessage(ctx, *m.MessageID, *m.PopReceipt, "second", &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(0))})
	if err != nil || upd.PopReceipt == nil || *upd.PopReceipt == *m.PopReceipt {
		t.Fatalf("update: %+v %v", upd, err)
	}
	_, err = q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil)
	wantCode(t, "delete with the receipt an update replaced", err, http.StatusNotFound, "MessageNotFound")
	peek, err = q.PeekMessages(ctx, nil)
	if err != nil || len(peek.Messages) != 1 || *peek.Messages[0].MessageText != "second" || *peek.Messages[0].MessageID != *m.MessageID {
		t.Fatalf("peek after the update: %+v %v", peek.Messages, err)
	}
	if _, err := q.DeleteMessage(ctx, *m.MessageID, *upd.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
	assertCount(ctx, t, q, 1)
	if _, err := q.ClearMessages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	assertCount(ctx, t, q, 0)
	assertMessageLimits(ctx, t, q)
}

func assertCount(ctx context.Context, t *testing.T, q *azqueue.QueueClient, want int32) {
	t.Helper()
	p, err := q.GetProperties(ctx, nil)
	if err != nil || p.ApproximateMessagesCount == nil || *p.ApproximateMessagesCount != want {
		t.Fatalf("approximate count %v %v, want %d", p.ApproximateMessagesCount, err, want)
	}
}

// assertMessageLimits: Azure's limits answer 4xx naming the field.
func assertMessageLimits(ctx context.Context, t *testing.T, q *azqueue.QueueClient) {
	t.Helper()
	_, err := q.EnqueueMessage(ctx, strings.Repeat("x", 64*1024+1), nil)
	wantCode(t, "a 64 KiB + 1 message", err, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	if _, err := q.EnqueueMessage(ctx, strings.Repeat("x", 64*1024), nil); err != nil {
		t.Fatalf("a 64 KiB message: %v", err)
	}
	_, err = q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(33))})
	wantCode(t, "numofmessages=33", err, http.StatusBadRequest, "OutOfRangeQueryParameterValue")
	if err == nil || !strings.Contains(err.Error(), "numofmessages") {
		t.Fatalf("the error does not name the field: %v", err)
	}
	_, err = q.EnqueueMessage(ctx, "x", &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(0))})
	wantCode(t, "messagettl=0", err, http.StatusBadRequest, "InvalidQueryParameterValue")
	_, err = q.DeleteMessage(ctx, "0f8fad5b-d9cb-469f-a165-70867728950e", "bm90IGEgcmVjZWlwdA==", nil)
	wantCode(t, "a forged pop receipt", err, http.StatusBadRequest, "InvalidQueryParameterValue")
}

func TestQueueRESTAuth(t *testing.T) {
	tr := shopRegion(t)
	svc := queueService(t, tr, "shop")
	ctx := sdkCtx(t)
	if _, err := svc.CreateQueue(ctx, "work", nil); err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient("work")
	key := storageAccountKey(t, tr, "shop")
	// A queue SAS signed as Azure defines it, and one signed over the
	// queue name the SDK's URL parser derives from /queues/shop/work.
	parts, err := azqueue.ParseURL(q.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"work", parts.QueueName} {
		ro := sasQueue(t, q.URL(), key, name, sas.QueuePermissions{Read: true})
		if _, err := ro.PeekMessages(ctx, nil); err != nil {
			t.Fatalf("peek with a read SAS signed for %q: %v", name, err)
		}
		_, err = ro.EnqueueMessage(ctx, "x", nil)
		wantCode(t, "enqueue with a read-only SAS", err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	}
	other := sasQueue(t, strings.Replace(q.URL(), "/work", "/other", 1), key, "work", sas.QueuePermissions{Read: true, Add: true})
	_, err = other.PeekMessages(ctx, nil)
	wantCode(t, "a SAS for another queue", err, http.StatusForbidden, "AuthenticationFailed")

	cred, err := azqueue.NewSharedKeyCredential("shop", "d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkgd3Jvbmcga2V5IHdyb25nIGtleQ==")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := azqueue.NewQueueClientWithSharedKeyCredential(q.URL(), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.PeekMessages(ctx, nil)
	wantCode(t, "a wrong account key", err, http.StatusForbidden, "AuthenticationFailed")
	if r := tr.do("GET", "/queues/ghost/work/messages?peekonly=true", "", ""); r.code != http.StatusForbidden ||
		!strings.Contains(string(r.body), "<Code>AuthenticationFailed</Code>") {
		t.Fatalf("an app the region does not serve: %d %s", r.code, r.body)
	}
}

func storageAccountKey(t *testing.T, tr *testRegion, app string) string {
	t.Helper()
	var info StorageInfo
	r := tr.admin("GET", "/admin/apps/"+app+"/storage", "")
	if err := json.Unmarshal(r.body, &info); err != nil || info.Key == "" {
		t.Fatalf("storage of %s: %d %s", app, r.code, r.body)
	}
	return info.Key
}

// sasQueue is a client of queueURL with a queue SAS for name.
func sasQueue(t *testing.T, queueURL, key, name string, perms sas.QueuePermissions) *azqueue.QueueClient {
	t.Helper()
	cred, err := azqueue.NewSharedKeyCredential("shop", key)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.QueueSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: perms.String(), QueueName: name}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azqueue.NewQueueClientWithNoCredential(queueURL+"?"+qp.Encode(),
		&azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestQueueServicePropertiesWithSDK: Get and Set Queue Service Properties
// and Get Service Stats, which the azqueue SDK's ServiceClient calls:
// defaults first, then what was set (CORS, logging, metrics) comes back,
// kept apart from the Table service's properties of the same account.
func TestQueueServicePropertiesWithSDK(t *testing.T) {
	tr := shopRegion(t)
	ctx := sdkCtx(t)
	svc := queueService(t, tr, "shop")
	got, err := svc.GetServiceProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Logging == nil || *got.Logging.Version != "1.0" || len(got.CORS) != 0 {
		t.Fatalf("default properties: %+v", got.StorageServiceProperties)
	}
	_, err = svc.SetProperties(ctx, &azqueue.SetPropertiesOptions{
		CORS: []*azqueue.CORSRule{{AllowedOrigins: to.Ptr("https://shop.example"), AllowedMethods: to.Ptr("GET,PUT"),
			AllowedHeaders: to.Ptr("x-ms-meta-*"), ExposedHeaders: to.Ptr("x-ms-meta-*"), MaxAgeInSeconds: to.Ptr[int32](60)}},
		Logging: &azqueue.Logging{Version: to.Ptr("1.0"), Delete: to.Ptr(true), Read: to.Ptr(false), Write: to.Ptr(true),
			RetentionPolicy: &azqueue.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](7)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = svc.GetServiceProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CORS) != 1 || *got.CORS[0].AllowedOrigins != "https://shop.example" || !*got.Logging.Delete || *got.Logging.RetentionPolicy.Days != 7 {
		t.Fatalf("properties after set: %+v", got.StorageServiceProperties)
	}
	tables := tablesClient(t, tr, connString(t, tr, "shop"))
	tp, err := tables.GetProperties(ctx, nil)
	if err != nil || len(tp.Cors) != 0 {
		t.Fatalf("the Table service's properties changed with the Queue service's: %+v %v", tp, err)
	}
	stats, err := svc.GetStatistics(ctx, nil)
	if err != nil || stats.GeoReplication == nil || *stats.GeoReplication.Status != "live" {
		t.Fatalf("stats: %+v %v", stats, err)
	}
}
