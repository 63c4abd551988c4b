package region

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// blobSyncApp has an HTTP function whose output is a blob.
func blobSyncApp() testApp {
	return testApp{name: "blobsync", timeout: "00:00:03",
		settings: map[string]string{"REPLY_save": `{"Outputs":{"out":"saved by the function","res":{"statusCode":201}}}`},
		functions: map[string]string{
			"save": `{"bindings":[
				{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["post"],"route":"save/{name}"},
				{"type":"http","direction":"out","name":"res"},
				{"type":"blob","direction":"out","name":"out","path":"docs/{name}"}]}`,
		}}
}

// westHasBlob reads west's mirror of the docs container directly: the
// blob's record is there and names etag.
func westHasBlob(ctx context.Context, t *testing.T, west *testRegion, name, etag string) bool {
	t.Helper()
	st, err := west.broker.JetStream().Stream(ctx, "OBJ_west_B_blobsync_docs")
	if err != nil {
		return false
	}
	m, err := st.GetLastMsgForSubject(ctx, "$O.west_B_blobsync_docs.M."+base64.URLEncoding.EncodeToString([]byte("b/"+name)))
	return err == nil && strings.Contains(string(m.Data), strings.Trim(etag, `"`))
}

// TestBlobWritesWaitForTheStandbyInSyncMode: with the app in sync mode, a
// blob put with the azblob SDK and a function's blob output are
// acknowledged only once west, the standby, stored them: west's mirror
// holds the record the moment the answer arrives (read at once, no
// polling). With west gone, neither is acknowledged: the put does not
// answer success before the client gives up, and the function fails.
func TestBlobWritesWaitForTheStandbyInSyncMode(t *testing.T) {
	app := blobSyncApp()
	east, west := syncPair(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := blobClient(t, connString(t, east, app.name))
	if _, err := c.CreateContainer(ctx, "docs", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		name := "sdk-" + string(rune('a'+i)) + ".txt"
		up, err := c.UploadBuffer(ctx, "docs", name, []byte("put "+name), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !westHasBlob(ctx, t, west, name, string(*up.ETag)) {
			t.Fatalf("%s acknowledged before west stored it", name)
		}
	}
	for i := range 5 {
		name := "fn-" + string(rune('a'+i)) + ".txt"
		if r := east.do("POST", "/api/save/"+name, "", "x"); r.code != 201 {
			t.Fatalf("save %s: %d %s", name, r.code, r.body)
		}
		props, err := c.ServiceClient().NewContainerClient("docs").NewBlobClient(name).GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !westHasBlob(ctx, t, west, name, string(*props.ETag)) {
			t.Fatalf("%s (a blob output) acknowledged before west stored it", name)
		}
	}

	sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
	defer scancel()
	if err := west.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	if _, err := c.UploadBuffer(pctx, "docs", "orphan.txt", []byte("no standby"), &azblob.UploadBufferOptions{}); err == nil {
		t.Fatal("a put acknowledged with the only standby down")
	}
	if r := east.do("POST", "/api/save/orphan-fn.txt", "", "x"); r.code < 500 {
		t.Fatalf("a blob output with the only standby down: %d %s, want a failed invocation", r.code, r.body)
	}
}
