package blob

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func TestSDKAuth(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "priv")
	if _, err := env.client.UploadBuffer(ctx, "priv", "a.txt", []byte("secret"), nil); err != nil {
		t.Fatal(err)
	}
	wrongKey := base64.StdEncoding.EncodeToString(randBytes(64))
	bad := sdkClient(t, strings.Replace(env.connString(), base64.StdEncoding.EncodeToString(env.key), wrongKey, 1))
	_, err := bad.DownloadStream(ctx, "priv", "a.txt", nil)
	wantCode(t, err, http.StatusForbidden, "AuthenticationFailed")

	cred, err := azblob.NewSharedKeyCredential(testAccount, base64.StdEncoding.EncodeToString(env.key))
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour), ContainerName: "priv",
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	ro, err := azblob.NewClientWithNoCredential(env.url+DefaultPathPrefix+"/"+testAccount+"?"+qp.Encode(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(download(t, &testEnv{ctx: ctx, client: ro}, "priv", "a.txt", nil)); got != "secret" {
		t.Fatalf("read with SAS: %q", got)
	}
	pager := ro.NewListBlobsFlatPager("priv", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 {
		t.Fatalf("list with SAS: %v", err)
	}
	_, err = ro.UploadBuffer(ctx, "priv", "b.txt", []byte("x"), nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	_, err = ro.DeleteBlob(ctx, "priv", "a.txt", nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

func TestSDKServiceProperties(t *testing.T) {
	env := newEnv(t, nil)
	ctx, svc := env.ctx, env.client.ServiceClient()
	props, err := svc.GetProperties(ctx, nil)
	if err != nil || props.Logging == nil || len(props.CORS) != 0 {
		t.Fatalf("default properties: %+v %v", props, err)
	}
	if _, err := svc.SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{{
		AllowedOrigins: to.Ptr("https://example.com"), AllowedMethods: to.Ptr("GET"), AllowedHeaders: to.Ptr("*"),
		ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr(int32(60)),
	}}}); err != nil {
		t.Fatal(err)
	}
	props, err = svc.GetProperties(ctx, nil)
	if err != nil || len(props.CORS) != 1 || *props.CORS[0].AllowedOrigins != "https://example.com" || props.Logging == nil {
		t.Fatalf("properties after set: %+v %v", props, err)
	}
	info, err := svc.GetAccountInfo(ctx, nil)
	if err != nil || info.SKUName == nil || info.AccountKind == nil {
		t.Fatalf("account info: %+v %v", info, err)
	}
	stats, err := svc.GetStatistics(ctx, nil)
	if err != nil || stats.GeoReplication == nil || *stats.GeoReplication.Status != "live" {
		t.Fatalf("stats: %+v %v", stats, err)
	}
	names := 0
	pager := svc.NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names += len(page.ContainerItems)
	}
	if names != 0 {
		t.Fatalf("the properties' bucket is listed as a container (%d)", names)
	}
}
