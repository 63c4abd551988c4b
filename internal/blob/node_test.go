package blob

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// The tests of this file reproduce what @azure/storage-blob (Node.js)
// met: its requests, and answers it reads differently from azblob.

// TestXMLAsNodeReadsIt: @azure/core-xml decodes the five predefined
// entities only, so a numeric reference (encoding/xml's &#34; for a
// quote) reached the Node SDK as text: every listed ETag was
// "&#34;0x…&#34;" and a blob name with a quote or apostrophe was wrong.
func TestXMLAsNodeReadsIt(t *testing.T) {
	env := newEnv(t, nil)
	newContainer(t, env, "xmlq")
	name := `it's "q".txt`
	if _, err := env.client.UploadBuffer(env.ctx, "xmlq", name, []byte("x"),
		&azblob.UploadBufferOptions{Metadata: map[string]*string{"note": ptr(`say "hi"`)}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/xmlq?restype=container&comp=list&include=metadata", "?comp=list&include=metadata"} {
		p, q, _ := strings.Cut(path, "?")
		resp, body := rawDoQuery(t, env, "GET", p, q, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "&#") || !strings.Contains(string(body), "<Etag>&quot;0x") {
			t.Errorf("%s: numeric references or no &quot; in the ETag: %s", path, body)
		}
		if strings.HasPrefix(p, "/xmlq") && (!strings.Contains(string(body), "<Name>it&apos;s &quot;q&quot;.txt</Name>") ||
			!strings.Contains(string(body), "<note>say &quot;hi&quot;</note>")) {
			t.Errorf("%s: name or metadata not as Azure writes them: %s", path, body)
		}
	}
	resp, body := rawDo(t, env, "GET", "/xmlq/missing", nil)
	if resp.StatusCode != 404 || strings.Contains(string(body), "&#") || !strings.Contains(string(body), "\nRequestId:") {
		t.Errorf("error body: %d %s", resp.StatusCode, body)
	}
}

// TestUncommittedBlockList: the Node SDK's stageBlock, getBlockList
// ("uncommitted"), commitBlockList. Get Block List of a blob that has
// only staged blocks answered 404 BlobNotFound, and blocklisttype was
// ignored (committed only).
func TestUncommittedBlockList(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "ublk")
	cc := env.client.ServiceClient().NewContainerClient("ublk")
	bb := cc.NewBlockBlobClient("staged.txt")
	_, err := bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound")
	if _, err := bb.StageBlock(ctx, blockID(1), nopCloser([]byte("one ")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.StageBlock(ctx, blockID(2), nopCloser([]byte("two")), nil); err != nil {
		t.Fatal(err)
	}
	// another blob's staged block is not listed
	if _, err := cc.NewBlockBlobClient("staged.txt2").StageBlock(ctx, blockID(9), nopCloser([]byte("x")), nil); err != nil {
		t.Fatal(err)
	}
	names := func(bs []*blockblob.Block) (out []string) {
		for _, b := range bs {
			out = append(out, fmt.Sprintf("%s:%d", *b.Name, *b.Size))
		}
		return out
	}
	for _, typ := range []blockblob.BlockListType{blockblob.BlockListTypeUncommitted, blockblob.BlockListTypeAll} {
		list, err := bb.GetBlockList(ctx, typ, nil)
		if err != nil {
			t.Fatalf("%s before the commit: %v", typ, err)
		}
		if got, want := names(list.UncommittedBlocks), []string{blockID(1) + ":4", blockID(2) + ":3"}; !slices.Equal(got, want) ||
			len(list.CommittedBlocks) != 0 || list.ETag != nil || *list.BlobContentLength != 0 {
			t.Fatalf("%s before the commit: uncommitted %v committed %v etag %v", typ, got, names(list.CommittedBlocks), list.ETag)
		}
	}
	list, err := bb.GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil || len(list.CommittedBlocks) != 0 || len(list.UncommittedBlocks) != 0 {
		t.Fatalf("committed before the commit: %v %+v", err, list)
	}
	if _, err := bb.CommitBlockList(ctx, []string{blockID(1), blockID(2)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.StageBlock(ctx, blockID(3), nopCloser([]byte("three")), nil); err != nil {
		t.Fatal(err)
	}
	list, err = bb.GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(list.CommittedBlocks), []string{blockID(1) + ":4", blockID(2) + ":3"}; !slices.Equal(got, want) ||
		!slices.Equal(names(list.UncommittedBlocks), []string{blockID(3) + ":5"}) || list.ETag == nil || *list.BlobContentLength != 7 {
		t.Fatalf("after the commit: committed %v uncommitted %v", got, names(list.UncommittedBlocks))
	}
	resp, body := rawDoQuery(t, env, "GET", "/ublk/staged.txt", "comp=blocklist&blocklisttype=some", nil)
	if resp.StatusCode != 400 {
		t.Fatalf("blocklisttype=some: %d %s", resp.StatusCode, body)
	}
}

// TestSASResponseHeaders: a service SAS with rsct/rscc/rscd/rsce/rscl
// (generateBlobSASQueryParameters' contentType, cacheControl, ...) sets
// those headers of Get Blob and Get Blob Properties, as Azure; they were
// ignored. An account SAS carrying them overrides nothing (it does not
// sign them).
func TestSASResponseHeaders(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "rsc")
	if _, err := env.client.UploadBuffer(ctx, "rsc", "dir/b.txt", []byte("bbb"), nil); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(testAccount, base64.StdEncoding.EncodeToString(env.key))
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour), ContainerName: "rsc", BlobName: "dir/b.txt",
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContentType: "application/x-test", CacheControl: "max-age=5",
		ContentDisposition: "attachment; filename=b.txt", ContentEncoding: "identity", ContentLanguage: "fr",
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := blob.NewClientWithNoCredential(env.url+DefaultPathPrefix+"/"+testAccount+"/rsc/dir/b.txt?"+qp.Encode(),
		&blob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.ContentType != "application/x-test" || props.CacheControl == nil || *props.CacheControl != "max-age=5" ||
		props.ContentDisposition == nil || *props.ContentDisposition != "attachment; filename=b.txt" ||
		props.ContentEncoding == nil || *props.ContentEncoding != "identity" || props.ContentLanguage == nil || *props.ContentLanguage != "fr" {
		t.Fatalf("properties with a SAS overriding them: %+v", props)
	}
	resp, err := bc.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if *resp.ContentType != "application/x-test" || resp.CacheControl == nil || *resp.CacheControl != "max-age=5" {
		t.Fatalf("download with a SAS overriding headers: %v %v", resp.ContentType, resp.CacheControl)
	}
	// the blob's own properties are unchanged; an account SAS's rsct is not applied
	resp2, body := rawDoQuery(t, env, "HEAD", "/rsc/dir/b.txt", "rsct=text%2Fhtml", nil)
	if resp2.StatusCode != 200 || resp2.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("account SAS with rsct: %d %v %s", resp2.StatusCode, resp2.Header, body)
	}
}

// TestCopyFromURL: the Node SDK's beginCopyFromURL and syncCopyFromURL
// (Put Blob with x-ms-copy-source, no x-ms-blob-type) got 400
// MissingRequiredHeader. A copy within the account is done before the
// answer, with x-ms-copy-status: success.
func TestCopyFromURL(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "src")
	newContainer(t, env, "dst")
	data := randBytes(5<<20 + 3)
	if _, err := env.client.UploadBuffer(ctx, "src", "a.bin", data, &azblob.UploadBufferOptions{
		Metadata: map[string]*string{"k": ptr("v")}, HTTPHeaders: &blob.HTTPHeaders{BlobContentType: ptr("text/x")}}); err != nil {
		t.Fatal(err)
	}
	cc := env.client.ServiceClient().NewContainerClient("dst")
	srcURL := env.client.ServiceClient().NewContainerClient("src").NewBlobClient("a.bin").URL()
	start, err := cc.NewBlobClient("a.copy").StartCopyFromURL(ctx, srcURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if start.CopyStatus == nil || *start.CopyStatus != blob.CopyStatusTypeSuccess || start.CopyID == nil || start.ETag == nil {
		t.Fatalf("start copy: %+v", start)
	}
	if got := download(t, env, "dst", "a.copy", nil); !bytes.Equal(got, data) {
		t.Fatalf("copied %d bytes, not the source's %d", len(got), len(data))
	}
	props, err := cc.NewBlobClient("a.copy").GetProperties(ctx, nil)
	if err != nil || *props.ContentType != "text/x" || *props.Metadata["K"] != "v" {
		t.Fatalf("copy's properties: %v %+v", err, props)
	}
	// sync copy (x-ms-requires-sync), with metadata of its own
	sync, err := cc.NewBlockBlobClient("b.copy").CopyFromURL(ctx, srcURL, &blob.CopyFromURLOptions{Metadata: map[string]*string{"own": ptr("1")}})
	if err != nil || *sync.CopyStatus != "success" {
		t.Fatalf("sync copy: %v %+v", err, sync)
	}
	props, err = cc.NewBlobClient("b.copy").GetProperties(ctx, nil)
	if err != nil || len(props.Metadata) != 1 || *props.Metadata["Own"] != "1" || *props.ContentLength != int64(len(data)) {
		t.Fatalf("sync copy's properties: %v %+v", err, props)
	}
	// a source condition that fails, a destination condition that fails
	_, err = cc.NewBlobClient("c.copy").StartCopyFromURL(ctx, srcURL, &blob.StartCopyFromURLOptions{
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: ptr(azcore.ETag(`"0x1"`))}})
	wantCode(t, err, http.StatusPreconditionFailed, "SourceConditionNotMet")
	_, err = cc.NewBlobClient("a.copy").StartCopyFromURL(ctx, srcURL, &blob.StartCopyFromURLOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}}})
	wantCode(t, err, http.StatusConflict, "BlobAlreadyExists")
	_, err = cc.NewBlobClient("d.copy").StartCopyFromURL(ctx, "https://other.blob.core.windows.net/c/b", nil)
	wantCode(t, err, http.StatusNotImplemented, "NotImplemented")
	_, err = cc.NewBlobClient("d.copy").StartCopyFromURL(ctx, srcURL+"-missing", nil)
	wantCode(t, err, http.StatusNotFound, "BlobNotFound")

	// with a SAS: the source needs one of its own
	cred, err := azblob.NewSharedKeyCredential(testAccount, base64.StdEncoding.EncodeToString(env.key))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c string, p string) string {
		qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour), ContainerName: c, Permissions: p}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	dst, err := blob.NewClientWithNoCredential(env.url+DefaultPathPrefix+"/"+testAccount+"/dst/e.copy?"+sign("dst", "cw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dst.StartCopyFromURL(ctx, srcURL, nil)
	wantCode(t, err, http.StatusForbidden, "CannotVerifyCopySource")
	_, err = dst.StartCopyFromURL(ctx, srcURL+"?"+sign("src", "l"), nil)
	wantCode(t, err, http.StatusForbidden, "CannotVerifyCopySource")
	if _, err = dst.StartCopyFromURL(ctx, srcURL+"?"+sign("src", "r"), nil); err != nil {
		t.Fatalf("copy with a SAS on both: %v", err)
	}
}
