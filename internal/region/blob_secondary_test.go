package region

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/tandemhq/tandem/internal/role"
)

func blobClient(t *testing.T, connStr string) *azblob.Client {
	t.Helper()
	if !strings.Contains(connStr, "BlobEndpoint=") {
		t.Fatalf("connection string %q has no BlobEndpoint", connStr)
	}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	c, err := azblob.NewClientFromConnectionString(connStr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// blobIs reports whether c reads want from container/name.
func blobIs(ctx context.Context, c *azblob.Client, container, name string, want []byte) bool {
	resp, err := c.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return err == nil && bytes.Equal(got, want)
}

func blobGone(ctx context.Context, c *azblob.Client, container, name string) bool {
	_, err := c.DownloadStream(ctx, container, name, nil)
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == "BlobNotFound"
}

// TestBlobsReplicatedAndPromoted: blobs put with the azblob SDK in east
// (single put and blocks) are readable in west, its secondary, with
// their metadata and listing; writes to west are refused naming east; a
// delete in east is replicated. After west is promoted it reads them,
// overwrites and writes new ones, and east, now the secondary, reads
// those.
func TestBlobsReplicatedAndPromoted(t *testing.T) {
	p := startPair(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east := blobClient(t, connString(t, p.east, "hello-go"))
	small, big := bytes.Repeat([]byte("photo"), 60_000), bytes.Repeat([]byte("0123456789abcdef"), 200_000)
	if _, err := east.CreateContainer(ctx, "photos", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := east.UploadBuffer(ctx, "photos", "a.jpg", small, &azblob.UploadBufferOptions{Metadata: map[string]*string{"who": to.Ptr("ada")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := east.UploadStream(ctx, "photos", "dir/b.bin", bytes.NewReader(big), &azblob.UploadStreamOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}

	west := blobClient(t, connString(t, p.west, "hello-go"))
	eventually(t, "a.jpg readable in west", func() bool { return blobIs(ctx, west, "photos", "a.jpg", small) })
	eventually(t, "dir/b.bin readable in west", func() bool { return blobIs(ctx, west, "photos", "dir/b.bin", big) })
	props, err := west.ServiceClient().NewContainerClient("photos").NewBlobClient("a.jpg").GetProperties(ctx, nil)
	if err != nil || *props.Metadata["Who"] != "ada" {
		t.Fatalf("a.jpg properties in west: %v %v", err, props.Metadata)
	}
	page, err := west.NewListBlobsFlatPager("photos", nil).NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 2 {
		t.Fatalf("listing in west: %v %d", err, len(page.Segment.BlobItems))
	}
	_, err = west.UploadBuffer(ctx, "photos", "c.txt", []byte("no"), nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || re.RawResponse.Header.Get("Retry-After") == "" ||
		!strings.Contains(err.Error(), "east") {
		t.Fatalf("a put to the secondary: %v, want 503 with Retry-After naming east", err)
	}
	_, err = west.CreateContainer(ctx, "other", nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a container created in the secondary: %v, want 503", err)
	}
	cpage, err := west.NewListContainersPager(nil).NextPage(ctx)
	if err != nil || len(cpage.ContainerItems) != 1 || *cpage.ContainerItems[0].Name != "photos" {
		t.Fatalf("containers listed in west: %v %+v", err, cpage.ContainerItems)
	}
	if _, err := east.DeleteBlob(ctx, "photos", "dir/b.bin", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delete of dir/b.bin replicated", func() bool { return blobGone(ctx, west, "photos", "dir/b.bin") })
	// The delete's chunk rollups are mirrored: west's copy shrinks too.
	eventually(t, "dir/b.bin's data dropped from west's mirror", func() bool {
		st, err := p.west.broker.JetStream().Stream(ctx, "OBJ_west_B_hello-go_photos")
		return err == nil && st.CachedInfo().State.Bytes < uint64(len(big))
	})

	setRole(t, p.east, role.Request{Role: role.Secondary, Epoch: 1, Primary: "west"})
	setRole(t, p.west, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)})
	waitMode(t, p.west, "primary")
	if !blobIs(ctx, west, "photos", "a.jpg", small) {
		t.Fatal("a.jpg not readable in west after its promotion")
	}
	if _, err := west.UploadBuffer(ctx, "photos", "a.jpg", []byte("v2"), nil); err != nil {
		t.Fatalf("overwrite in the promoted west: %v", err)
	}
	if _, err := west.UploadBuffer(ctx, "photos", "c.txt", []byte("new"), nil); err != nil {
		t.Fatalf("put in the promoted west: %v", err)
	}
	if _, err := west.CreateContainer(ctx, "other", nil); err != nil {
		t.Fatalf("container created in the promoted west: %v", err)
	}
	waitMode(t, p.east, "secondary")
	eventually(t, "west's c.txt readable in east", func() bool { return blobIs(ctx, east, "photos", "c.txt", []byte("new")) })
	eventually(t, "west's a.jpg readable in east", func() bool { return blobIs(ctx, east, "photos", "a.jpg", []byte("v2")) })
	eventually(t, "west's new container in east", func() bool {
		_, err := east.ServiceClient().NewContainerClient("other").GetProperties(ctx, nil)
		return err == nil
	})
}
