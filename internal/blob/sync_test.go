package blob

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// storedLog is an Options.Stored that records its calls and fails while
// told to.
type storedLog struct {
	mu    sync.Mutex
	calls []storedCall
	fail  error
}

type storedCall struct {
	app, stream string
	seq         uint64
}

func (l *storedLog) stored(_ context.Context, app, stream string, seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, storedCall{app, stream, seq})
	return l.fail
}

func (l *storedLog) take() []storedCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func (l *storedLog) setFail(err error) {
	l.mu.Lock()
	l.fail = err
	l.mu.Unlock()
}

// TestStoredBeforeAcknowledged: every REST write and WriteAll hand the
// sequence of the record that makes them visible (the last message they
// stored in the container's stream) to Options.Stored before they are
// acknowledged; reads do not; a Stored failure fails the write with 500
// and none of the success's headers, though the write stays stored here.
func TestStoredBeforeAcknowledged(t *testing.T) {
	var log storedLog
	env := newEnv(t, func(o *Options) { o.Stored = log.stored })
	ctx := env.ctx
	const stream = "OBJ_east_B_shop_docs"
	// The last message the write stored: its record, or after it the
	// markers deleting the data an overwritten version had.
	lastMeta := func(object string) uint64 {
		t.Helper()
		st, err := env.svc.js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.GetLastMsgForSubject(ctx, metaSubject("east_B_shop_docs", object))
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Sequence > info.State.LastSeq {
			t.Fatalf("%s's record #%d past the stream's last message #%d", object, m.Sequence, info.State.LastSeq)
		}
		return info.State.LastSeq
	}
	wantCalls := func(what, object string) {
		t.Helper()
		got := log.take()
		want := []storedCall{{testAccount, stream, lastMeta(object)}}
		if len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s: Stored calls %+v, want %+v", what, got, want)
		}
	}

	if _, err := env.client.CreateContainer(ctx, "docs", nil); err != nil {
		t.Fatal(err)
	}
	wantCalls("create container", containerObject)
	if _, err := env.client.UploadBuffer(ctx, "docs", "a.txt", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	wantCalls("put blob", blobObject("a.txt"))
	bc := env.client.ServiceClient().NewContainerClient("docs").NewBlobClient("a.txt")
	if _, err := bc.SetMetadata(ctx, map[string]*string{"k": ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	wantCalls("set metadata", blobObject("a.txt"))
	if _, err := env.client.DownloadBuffer(ctx, "docs", "a.txt", make([]byte, 5), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.GetProperties(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("reads called Stored: %+v", got)
	}
	if _, err := env.svc.WriteAll(ctx, testAccount, "docs", "b.txt", []byte("out"), ""); err != nil {
		t.Fatal(err)
	}
	wantCalls("WriteAll", blobObject("b.txt"))

	// A failed wait fails the write, which is nonetheless stored here.
	log.setFail(errors.New("standby west did not store it"))
	up, err := env.client.UploadBuffer(ctx, "docs", "a.txt", []byte("second"), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || re.ErrorCode != string(bloberror.InternalError) {
		t.Fatalf("put with a failed Stored: %v", err)
	}
	if re.RawResponse.Header.Get("ETag") != "" || re.RawResponse.Header.Get("x-ms-request-id") == "" {
		t.Errorf("failed answer headers: %v", re.RawResponse.Header)
	}
	_ = up
	wantCalls("failed put", blobObject("a.txt"))
	if _, err := env.svc.WriteAll(ctx, testAccount, "docs", "c.txt", []byte("x"), ""); err == nil || !strings.Contains(err.Error(), "did not store it") {
		t.Errorf("WriteAll with a failed Stored: %v", err)
	}
	log.setFail(nil)
	got := make([]byte, 6)
	if _, err := env.client.DownloadBuffer(ctx, "docs", "a.txt", got, nil); err != nil || string(got) != "second" {
		t.Errorf("the refused put is not stored here: %q %v", got, err)
	}
	log.take()
	if _, err := env.client.DeleteBlob(ctx, "docs", "a.txt", nil); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); len(got) != 1 || got[0].stream != stream {
		t.Errorf("delete blob: Stored calls %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }
