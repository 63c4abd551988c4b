package region

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/tandemhq/tandem/internal/blobtrigger"
)

// blobApp has a blob-triggered function that copies what it received
// (the whole payload, through the echo handler's REPLY_ template) to a
// new blob per run, with a blob input beside it, and one that always
// fails (for the poison queue).
func blobApp() testApp {
	return testApp{name: "blobby",
		settings: map[string]string{
			"REPLY_onblob": `{"Outputs":{"copy":$PAYLOAD},"Logs":["copied"]}`,
			"REPLY_fails":  "status:500",
		},
		queues: map[string]any{"maxDequeueCount": 2},
		functions: map[string]string{
			"onblob": `{"bindings":[
				{"type":"blobTrigger","direction":"in","name":"blob","path":"inbox/{stem}.{ext}","dataType":"binary"},
				{"type":"blob","direction":"in","name":"side","path":"lookup/{stem}.txt","dataType":"string"},
				{"type":"blob","direction":"out","name":"copy","path":"copies/{stem}-{rand-guid}.json"}]}`,
			"fails": `{"bindings":[{"type":"blobTrigger","direction":"in","name":"b","path":"broken/{name}"}]}`,
		}}
}

// copies lists the runs of onblob for stem (one blob per run).
func copies(ctx context.Context, t *testing.T, c *azblob.Client, stem string) []string {
	prefix := stem + "-"
	pager := c.NewListBlobsFlatPager("copies", &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil // the container may not exist yet
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	return names
}

func upload(ctx context.Context, t *testing.T, c *azblob.Client, container, name, body string) {
	t.Helper()
	if _, err := c.UploadBuffer(ctx, container, name, []byte(body), nil); err != nil {
		t.Fatalf("upload %s/%s: %v", container, name, err)
	}
}

// runPayload reads the payload a run copied.
func runPayload(ctx context.Context, t *testing.T, c *azblob.Client, name string) map[string]any {
	t.Helper()
	resp, err := c.DownloadStream(ctx, "copies", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var got struct {
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("copy %s: %v: %s", name, err, raw)
	}
	return got.Payload
}

// TestBlobTrigger: blobs written with the azblob SDK fire the function
// once per version (a container created after the app started, a blob
// overwritten, listeners restarted as after a promotion: the scan finds
// the receipts and fires nothing again); the handler gets the bytes as
// base64, the host's Metadata, a blob input (missing: "null"), and its
// output is written as a blob. A function that always fails runs
// maxDequeueCount times, then its version is on webjobs-blobtrigger-poison.
func TestBlobTrigger(t *testing.T) {
	tr := startRegion(t, nil, blobApp())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := blobClient(t, connString(t, tr, "blobby"))
	for _, name := range []string{"inbox", "lookup", "broken"} {
		if _, err := c.CreateContainer(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	upload(ctx, t, c, "lookup", "b.txt", "\xef\xbb\xbfside text")
	upload(ctx, t, c, "inbox", "a.txt", "hello a")
	upload(ctx, t, c, "inbox", "b.txt", "hello b")
	upload(ctx, t, c, "inbox", "noext", "no match") // {stem}.{ext} needs a dot
	eventually(t, "one run per blob", func() bool {
		return len(copies(ctx, t, c, "a")) == 1 && len(copies(ctx, t, c, "b")) == 1
	})

	b := runPayload(ctx, t, c, copies(ctx, t, c, "b")[0])
	data, md := b["Data"].(map[string]any), b["Metadata"].(map[string]any)
	if data["blob"] != base64.StdEncoding.EncodeToString([]byte("hello b")) || data["side"] != `"side text"` {
		t.Errorf("Data %v", data)
	}
	if md["stem"] != `"b"` || md["ext"] != `"txt"` || md["BlobTrigger"] != nil || !strings.HasSuffix(md["Uri"].(string), `/blobs/blobby/inbox/b.txt"`) {
		t.Errorf("Metadata %v", md)
	}
	props := md["Properties"].(map[string]any)
	if props["ContentLength"] != float64(7) || props["BlobType"] != float64(0) || md["Metadata"] == nil || md["sys"] == nil {
		t.Errorf("Properties %v", props)
	}
	a := runPayload(ctx, t, c, copies(ctx, t, c, "a")[0])
	if side := a["Data"].(map[string]any)["side"]; side != "null" {
		t.Errorf("missing input blob: %#v, want the string null", side)
	}

	upload(ctx, t, c, "inbox", "a.txt", "hello again") // a new version fires again
	eventually(t, "the new version of a.txt ran", func() bool { return len(copies(ctx, t, c, "a")) == 2 })

	tr.setQueueTriggers(false) // as a demotion then a promotion: a scan of everything
	tr.setQueueTriggers(true)
	upload(ctx, t, c, "inbox", "c.txt", "hello c")
	eventually(t, "c.txt ran after the restart", func() bool { return len(copies(ctx, t, c, "c")) == 1 })
	if n, m := len(copies(ctx, t, c, "a")), len(copies(ctx, t, c, "b")); n != 2 || m != 1 {
		t.Fatalf("after the rescan: %d runs for a, %d for b; want 2 and 1", n, m)
	}

	upload(ctx, t, c, "broken", "x.bin", "boom")
	var poison []byte
	eventually(t, "the failing version is on the poison queue", func() bool {
		msgs, err := tr.svc.queues.Peek(ctx, "blobby", blobtrigger.PoisonQueue, 1)
		if err != nil || len(msgs) == 0 {
			return false
		}
		poison = msgs[0].Body
		return true
	})
	var pm map[string]string
	if err := json.Unmarshal(poison, &pm); err != nil || pm["Type"] != "BlobTrigger" || pm["FunctionId"] != "Host.Functions.fails" ||
		pm["BlobType"] != "BlockBlob" || pm["ContainerName"] != "broken" || pm["BlobName"] != "x.bin" || !strings.HasPrefix(pm["ETag"], `"0x`) {
		t.Fatalf("poison message %s (%v)", poison, err)
	}
	if !bytes.HasPrefix(poison, []byte(`{"Type":"BlobTrigger","FunctionId":`)) {
		t.Errorf("poison message order: %s", poison)
	}
}
