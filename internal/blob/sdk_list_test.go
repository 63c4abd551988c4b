package blob

import (
	"bytes"
	"crypto/md5"
	"hash/crc64"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func TestSDKListHierarchy(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "tree")
	names := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d"}
	for _, n := range names {
		if _, err := env.client.UploadBuffer(ctx, "tree", n, []byte(n), &azblob.UploadBufferOptions{Metadata: map[string]*string{"n": to.Ptr(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := env.client.ServiceClient().NewContainerClient("tree")
	for _, tc := range []struct {
		prefix         string
		blobs, folders []string
	}{
		{"", []string{"c", "d"}, []string{"a/", "b/"}},
		{"a/", []string{"a/1", "a/2"}, []string{"a/b/"}},
		{"a/b/", []string{"a/b/3"}, nil},
		{"z", nil, nil},
	} {
		var blobs, folders []string
		pager := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(tc.prefix)})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Segment.BlobItems {
				blobs = append(blobs, *b.Name)
			}
			for _, p := range page.Segment.BlobPrefixes {
				folders = append(folders, *p.Name)
			}
		}
		if !slices.Equal(blobs, tc.blobs) || !slices.Equal(folders, tc.folders) {
			t.Errorf("prefix %q: blobs %v folders %v, want %v %v", tc.prefix, blobs, folders, tc.blobs, tc.folders)
		}
	}

	var flat []string
	pages := 0
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(4)), Include: container.ListBlobsInclude{Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, b := range page.Segment.BlobItems {
			flat = append(flat, *b.Name)
			if *b.Metadata["n"] != *b.Name || *b.Properties.ContentLength != int64(len(*b.Name)) || b.Properties.ETag == nil {
				t.Fatalf("listed %s: %+v metadata %v", *b.Name, b.Properties, b.Metadata)
			}
		}
	}
	if !slices.Equal(flat, names) || pages != 2 {
		t.Fatalf("flat listing %v in %d pages, want %v in 2", flat, pages, names)
	}
}

func TestSDKChecksums(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "sums")
	data := randBytes(3000)
	bb := env.client.ServiceClient().NewContainerClient("sums").NewBlockBlobClient("x")
	wrong := md5.Sum([]byte("other"))
	_, err := bb.Upload(ctx, nopCloser(data), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(wrong[:])})
	wantCode(t, err, http.StatusBadRequest, "Md5Mismatch")
	_, err = env.client.DownloadStream(ctx, "sums", "x", nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound") // nothing stored
	right := md5.Sum(data)
	if _, err := bb.Upload(ctx, nopCloser(data), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(right[:])}); err != nil {
		t.Fatal(err)
	}
	// A refused put leaves the blob as it was.
	_, err = bb.Upload(ctx, nopCloser([]byte("new")), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(wrong[:])})
	wantCode(t, err, http.StatusBadRequest, "Md5Mismatch")
	if got := download(t, env, "sums", "x", nil); !bytes.Equal(got, data) {
		t.Fatal("a refused put changed the blob")
	}

	crc := crc64.Checksum(data, crc64Table)
	if _, err := bb.StageBlock(ctx, blockID(1), nopCloser(data), &blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeComputeCRC64()}); err != nil {
		t.Fatal(err)
	}
	_, err = bb.StageBlock(ctx, blockID(2), nopCloser(data), &blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeCRC64(crc + 1)})
	wantCode(t, err, http.StatusBadRequest, "Crc64Mismatch")
	_, err = bb.StageBlock(ctx, blockID(3), nopCloser(data), &blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(wrong[:])})
	wantCode(t, err, http.StatusBadRequest, "Md5Mismatch")

	resp, err := env.client.DownloadStream(ctx, "sums", "x", &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 10, Count: 100}, RangeGetContentMD5: to.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sum := md5.Sum(data[10:110])
	if !bytes.Equal(resp.ContentMD5, sum[:]) || !bytes.Equal(resp.BlobContentMD5, right[:]) {
		t.Fatalf("range MD5 %x (want %x), blob MD5 %x (want %x)", resp.ContentMD5, sum, resp.BlobContentMD5, right)
	}
}

func TestSDKEmptyAndOddNames(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "odd")
	names := []string{"empty", "with space/ünïcödé.txt", "a%2Fb", "q?x=1&y", "trailing/"}
	for _, n := range names {
		body := []byte(n)
		if n == "empty" {
			body = nil
		}
		if _, err := env.client.UploadBuffer(ctx, "odd", n, body, nil); err != nil {
			t.Fatalf("put %q: %v", n, err)
		}
		if got := download(t, env, "odd", n, nil); !bytes.Equal(got, body) {
			t.Fatalf("%q: got %q", n, got)
		}
	}
	_, err := env.client.DownloadStream(ctx, "odd", "empty", &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: 10}})
	wantCode(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	var listed []string
	pager := env.client.NewListBlobsFlatPager("odd", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			listed = append(listed, *b.Name)
		}
	}
	if len(listed) != len(names) {
		t.Fatalf("listed %q, want %q", listed, names)
	}
}
