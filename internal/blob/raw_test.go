package blob

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// rawDo sends a request with an account SAS (no per-request signing).
func rawDo(t *testing.T, env *testEnv, method, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return rawDoQuery(t, env, method, path, "", hdr)
}

// rawDoQuery is rawDo with more query parameters (query, encoded).
func rawDoQuery(t *testing.T, env *testEnv, method, path, query string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(testAccount, base64.StdEncoding.EncodeToString(env.key))
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: (&sas.AccountPermissions{Read: true, List: true}).String(), ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String()}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, env.url+DefaultPathPrefix+"/"+testAccount+path+"?"+qp.Encode()+"&"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestRawHTTP: what the SDK tests do not show: the Range header (the SDK
// sends x-ms-range), 416's Content-Range, the XML error body, HEAD errors
// without a body.
func TestRawHTTP(t *testing.T) {
	env := newEnv(t, nil)
	newContainer(t, env, "raw")
	if _, err := env.client.UploadBuffer(env.ctx, "raw", "f", []byte("0123456789"), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hdr    map[string]string
		status int
		body   string
		crange string
	}{
		{map[string]string{"Range": "bytes=2-4"}, 206, "234", "bytes 2-4/10"},
		{map[string]string{"Range": "bytes=7-"}, 206, "789", "bytes 7-9/10"},
		{map[string]string{"Range": "bytes=0-1", "x-ms-range": "bytes=8-9"}, 206, "89", "bytes 8-9/10"},
		{map[string]string{"Range": "bytes=10-"}, 416, "", "bytes */10"},
		{nil, 200, "0123456789", ""},
	} {
		resp, body := rawDo(t, env, "GET", "/raw/f", tc.hdr)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Range") != tc.crange || tc.body != "" && string(body) != tc.body {
			t.Errorf("%v: %d %q Content-Range %q", tc.hdr, resp.StatusCode, body, resp.Header.Get("Content-Range"))
		}
	}
	resp, body := rawDo(t, env, "GET", "/raw/missing", nil)
	var e struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}
	if err := xml.Unmarshal(body, &e); err != nil || resp.StatusCode != 404 || e.Code != "BlobNotFound" ||
		resp.Header.Get("x-ms-error-code") != "BlobNotFound" || !strings.Contains(e.Message, "RequestId:") {
		t.Fatalf("missing blob: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = rawDo(t, env, "HEAD", "/nope/x", nil)
	if resp.StatusCode != 404 || len(body) != 0 || resp.Header.Get("x-ms-error-code") != "ContainerNotFound" {
		t.Fatalf("HEAD in a missing container: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = rawDo(t, env, "GET", "/raw/f", map[string]string{"x-ms-range": "bytes=x-"})
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Fatalf("bad x-ms-range: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = rawDo(t, env, "GET", "/raw", nil) // no restype=container
	if resp.StatusCode != 400 {
		t.Fatalf("container request without restype: %d", resp.StatusCode)
	}
}
