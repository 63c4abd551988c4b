package blob

import (
	"bytes"
	"crypto/md5"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

func newContainer(t *testing.T, env *testEnv, name string) {
	t.Helper()
	if _, err := env.client.CreateContainer(env.ctx, name, nil); err != nil {
		t.Fatal(err)
	}
}

func download(t *testing.T, env *testEnv, c, b string, opts *azblob.DownloadStreamOptions) []byte {
	t.Helper()
	resp, err := env.client.DownloadStream(env.ctx, c, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSDKUploadDownload(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "docs")
	data := randBytes(9<<20 + 123) // three parts
	up, err := env.client.UploadBuffer(ctx, "docs", "big.bin", data, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-test"), BlobCacheControl: to.Ptr("no-cache"),
			BlobContentDisposition: to.Ptr("attachment"), BlobContentLanguage: to.Ptr("en"), BlobContentEncoding: to.Ptr("identity")},
		Metadata: map[string]*string{"kind": to.Ptr("test")},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if !bytes.Equal(up.ContentMD5, sum[:]) {
		t.Fatalf("put answered Content-MD5 %x, want %x", up.ContentMD5, sum)
	}
	if got := download(t, env, "docs", "big.bin", nil); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, differing from the %d uploaded", len(got), len(data))
	}
	for _, r := range []blob.HTTPRange{{Offset: 0, Count: 10}, {Offset: 4<<20 - 5, Count: 10}, {Offset: 5 << 20}, {Offset: int64(len(data)) - 1, Count: 100}} {
		got := download(t, env, "docs", "big.bin", &azblob.DownloadStreamOptions{Range: r})
		end := int64(len(data))
		if r.Count > 0 {
			end = min(end, r.Offset+r.Count)
		}
		if !bytes.Equal(got, data[r.Offset:end]) {
			t.Fatalf("range %+v: got %d bytes, want data[%d:%d]", r, len(got), r.Offset, end)
		}
	}
	_, err = env.client.DownloadStream(ctx, "docs", "big.bin", &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: int64(len(data))}})
	wantCode(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")

	buf := make([]byte, len(data))
	if _, err := env.client.DownloadBuffer(ctx, "docs", "big.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 2 << 20, Concurrency: 3}); err != nil || !bytes.Equal(buf, data) {
		t.Fatalf("DownloadBuffer: err %v, equal %v", err, bytes.Equal(buf, data))
	}

	bc := env.client.ServiceClient().NewContainerClient("docs").NewBlobClient("big.bin")
	props := must[blob.GetPropertiesResponse](t)(bc.GetProperties(ctx, nil))
	if *props.ContentLength != int64(len(data)) || *props.ContentType != "application/x-test" || *props.CacheControl != "no-cache" ||
		*props.ContentDisposition != "attachment" || *props.ContentLanguage != "en" || *props.ContentEncoding != "identity" ||
		!bytes.Equal(props.ContentMD5, sum[:]) || *props.BlobType != blob.BlobTypeBlockBlob || *props.Metadata["Kind"] != "test" {
		t.Fatalf("properties = %+v", props)
	}

	hh, err := bc.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	props = must[blob.GetPropertiesResponse](t)(bc.GetProperties(ctx, nil))
	if *props.ContentType != "text/plain" || props.CacheControl != nil || *props.ETag != *hh.ETag {
		t.Fatalf("after SetHTTPHeaders: %+v", props)
	}
	if _, err := bc.SetMetadata(ctx, map[string]*string{"a": to.Ptr("1"), "b": to.Ptr("2")}, nil); err != nil {
		t.Fatal(err)
	}
	props = must[blob.GetPropertiesResponse](t)(bc.GetProperties(ctx, nil))
	if len(props.Metadata) != 2 || *props.Metadata["B"] != "2" {
		t.Fatalf("metadata = %v", props.Metadata)
	}

	if _, err := env.client.DeleteBlob(ctx, "docs", "big.bin", nil); err != nil {
		t.Fatal(err)
	}
	_, err = env.client.DownloadStream(ctx, "docs", "big.bin", nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound")
	_, err = env.client.DeleteBlob(ctx, "docs", "big.bin", nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound")
}

func TestSDKUploadStreamBlocks(t *testing.T) {
	env := newEnv(t, nil)
	newContainer(t, env, "upl")
	data := randBytes(5<<20 + 77)
	_, err := env.client.UploadStream(env.ctx, "upl", "s.bin", bytes.NewReader(data), &azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := download(t, env, "upl", "s.bin", nil); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, differing from the %d uploaded", len(got), len(data))
	}
	bb := env.client.ServiceClient().NewContainerClient("upl").NewBlockBlobClient("s.bin")
	list, err := bb.GetBlockList(env.ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CommittedBlocks) != 6 || *list.BlobContentLength != int64(len(data)) {
		t.Fatalf("committed %d blocks of %d bytes", len(list.CommittedBlocks), *list.BlobContentLength)
	}
}

func TestSDKBlocks(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "blk")
	bb := env.client.ServiceClient().NewContainerClient("blk").NewBlockBlobClient("b")
	ids := []string{blockID(1), blockID(2), blockID(3)}
	for i, id := range ids {
		if _, err := bb.StageBlock(ctx, id, nopCloser([]byte{byte('a' + i)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := env.client.DownloadStream(ctx, "blk", "b", nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound") // staged is not committed
	if _, err := bb.CommitBlockList(ctx, []string{ids[2], ids[0]}, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}}); err != nil {
		t.Fatal(err)
	}
	if got := string(download(t, env, "blk", "b", nil)); got != "ca" {
		t.Fatalf("content = %q, want ca", got)
	}
	// Block 2 was not committed: discarded by the commit, as in Azure.
	_, err = bb.CommitBlockList(ctx, []string{ids[1]}, nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidBlockList")
	// Committed blocks can be reused with a new one.
	if _, err := bb.StageBlock(ctx, ids[1], nopCloser([]byte("Z")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.CommitBlockList(ctx, []string{ids[0], ids[1], ids[2]}, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(download(t, env, "blk", "b", nil)); got != "aZc" {
		t.Fatalf("content = %q, want aZc", got)
	}
	_, err = bb.StageBlock(ctx, "not base64!", nopCloser([]byte("x")), nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidQueryParameterValue")
}

func TestSDKLimits(t *testing.T) {
	env := newEnv(t, func(o *Options) { o.MaxBlobBytes, o.MaxBlockBytes = 1000, 600 })
	newContainer(t, env, "lim")
	_, err := env.client.UploadBuffer(env.ctx, "lim", "x", randBytes(1001), nil)
	wantCode(t, err, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	bb := env.client.ServiceClient().NewContainerClient("lim").NewBlockBlobClient("x")
	_, err = bb.StageBlock(env.ctx, blockID(1), nopCloser(randBytes(601)), nil)
	wantCode(t, err, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	for i := range 2 {
		if _, err := bb.StageBlock(env.ctx, blockID(i), nopCloser(randBytes(600)), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = bb.CommitBlockList(env.ctx, []string{blockID(0), blockID(1)}, nil)
	wantCode(t, err, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
}

func TestSDKConditions(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "cond")
	up := must[azblob.UploadBufferResponse](t)(env.client.UploadBuffer(ctx, "cond", "c", []byte("v1"), nil))
	etag, mod := *up.ETag, *up.LastModified
	bc := env.client.ServiceClient().NewContainerClient("cond").NewBlobClient("c")
	access := func(c blob.ModifiedAccessConditions) *blob.AccessConditions {
		return &blob.AccessConditions{ModifiedAccessConditions: &c}
	}
	past, future := mod.Add(-time.Hour), mod.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		cond   blob.ModifiedAccessConditions
		status int
	}{
		{"if-match ok", blob.ModifiedAccessConditions{IfMatch: &etag}, 206},
		{"if-match wrong", blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcoreETag(`"0x1"`))}, 412},
		{"if-none-match same", blob.ModifiedAccessConditions{IfNoneMatch: &etag}, 304},
		{"if-none-match other", blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcoreETag(`"0x1"`))}, 206},
		{"if-modified-since past", blob.ModifiedAccessConditions{IfModifiedSince: &past}, 206},
		{"if-modified-since future", blob.ModifiedAccessConditions{IfModifiedSince: &future}, 304},
		{"if-unmodified-since past", blob.ModifiedAccessConditions{IfUnmodifiedSince: &past}, 412},
		{"if-unmodified-since future", blob.ModifiedAccessConditions{IfUnmodifiedSince: &future}, 206},
	} {
		resp, err := env.client.DownloadStream(ctx, "cond", "c", &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Count: 1}, AccessConditions: access(tc.cond)})
		switch tc.status {
		case 206:
			if err != nil || resp.ErrorCode != nil {
				t.Errorf("%s: err %v, code %v", tc.name, err, resp.ErrorCode)
			}
		case 304: // the SDK answers a 304 with its error code, not an error
			if err != nil || resp.ErrorCode == nil || *resp.ErrorCode != "ConditionNotMet" {
				t.Errorf("%s: err %v, code %v; want 304 ConditionNotMet", tc.name, err, resp.ErrorCode)
			}
		default:
			wantCode(t, err, tc.status, "ConditionNotMet")
		}
	}
	_, err := env.client.UploadBuffer(ctx, "cond", "c", []byte("v2"), &azblob.UploadBufferOptions{AccessConditions: access(blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcoreETag("*"))})})
	wantCode(t, err, http.StatusConflict, "BlobAlreadyExists")
	_, err = env.client.UploadBuffer(ctx, "cond", "c", []byte("v2"), &azblob.UploadBufferOptions{AccessConditions: access(blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcoreETag(`"0x1"`))})})
	wantCode(t, err, http.StatusPreconditionFailed, "ConditionNotMet")
	_, err = bc.SetMetadata(ctx, nil, &blob.SetMetadataOptions{AccessConditions: access(blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcoreETag(`"0x1"`))})})
	wantCode(t, err, http.StatusPreconditionFailed, "ConditionNotMet")
	_, err = bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: access(blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcoreETag(`"0x1"`))})})
	wantCode(t, err, http.StatusPreconditionFailed, "ConditionNotMet")
	if _, err := env.client.UploadBuffer(ctx, "cond", "c", []byte("v2"), &azblob.UploadBufferOptions{AccessConditions: access(blob.ModifiedAccessConditions{IfMatch: &etag})}); err != nil {
		t.Fatal(err)
	}
	if got := string(download(t, env, "cond", "c", nil)); got != "v2" {
		t.Fatalf("content = %q", got)
	}
}
