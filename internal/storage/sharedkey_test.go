package storage

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

const testAccount = "shop"

var testKey = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

func testKeyB64() string { return base64.StdEncoding.EncodeToString(testKey) }

func keys(_ context.Context, account string) ([]byte, error) {
	if account != testAccount {
		return nil, AuthFailed("no storage account %q", account)
	}
	return testKey, nil
}

// recorder is a server that verifies every request with an Authenticator
// and records the outcome; it answers 403 with the error, 404 otherwise
// (the SDK calls need not succeed, only be signed).
type recorder struct {
	auth *Authenticator
	mu   sync.Mutex
	errs []error
	n    int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	account, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	_, err := rec.auth.Verify(r.Context(), r, account, Target{})
	rec.mu.Lock()
	rec.n++
	if err != nil {
		rec.errs = append(rec.errs, err)
	}
	rec.mu.Unlock()
	SetCommonHeaders(w, r, "2021-12-02", time.Now())
	if err != nil {
		WriteXMLError(w, r, AsError(err), time.Now())
		return
	}
	WriteXMLError(w, r, NewError(ErrNotFound, http.StatusNotFound, "ResourceNotFound", "nothing here"), time.Now())
}

func (rec *recorder) check(t *testing.T) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.n == 0 {
		t.Fatal("no request reached the server")
	}
	for _, err := range rec.errs {
		t.Error(err)
	}
}

func noRetry() policy.RetryOptions { return policy.RetryOptions{MaxRetries: -1} }

// TestSharedKeyBlobSDK verifies requests signed by azblob's own Shared Key
// policy, with metadata headers chosen to exercise Azure's header order.
func TestSharedKeyBlobSDK(t *testing.T) {
	rec := &recorder{auth: &Authenticator{Service: Blob, Keys: keys}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cred, err := azblob.NewSharedKeyCredential(testAccount, testKeyB64())
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(srv.URL+"/"+testAccount, cred,
		&azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: noRetry()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	meta := map[string]*string{"a": to.Ptr("1"), "a1": to.Ptr("2"), "ab": to.Ptr("3"), "a_b": to.Ptr("4"), "B": to.Ptr("5"), "z9_": to.Ptr("6")}
	_, _ = client.CreateContainer(ctx, "orders", &azblob.CreateContainerOptions{Metadata: meta})
	_, _ = client.UploadBuffer(ctx, "orders", "dir/a b+c%.txt", []byte("hello"), &azblob.UploadBufferOptions{
		Metadata: meta, HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobContentLanguage: to.Ptr("en")},
	})
	_, _ = client.DownloadStream(ctx, "orders", "dir/a b+c%.txt", &azblob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: 1, Count: 3},
	})
	pager := client.NewListBlobsFlatPager("orders", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("dir/"), MaxResults: to.Ptr(int32(2))})
	_, _ = pager.NextPage(ctx)
	rec.check(t)
}

// TestSharedKeyTableSDK verifies requests signed by aztables (SharedKeyLite).
func TestSharedKeyTableSDK(t *testing.T) {
	rec := &recorder{auth: &Authenticator{Service: Table, Keys: keys}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cred, err := aztables.NewSharedKeyCredential(testAccount, testKeyB64())
	if err != nil {
		t.Fatal(err)
	}
	client, err := aztables.NewServiceClientWithSharedKey(srv.URL+"/"+testAccount, cred,
		&aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: noRetry()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = client.CreateTable(ctx, "Orders", nil)
	_, _ = client.GetProperties(ctx, nil)
	_, _ = client.NewClient("Orders").GetEntity(ctx, "p'1", "r 2", nil)
	rec.check(t)
}

// signed builds a request and signs it as a client would.
func signed(t *testing.T, svc Service, scheme, method, target string, h map[string]string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	for k, v := range h {
		r.Header.Set(k, v)
	}
	r.Header.Set("Authorization", scheme+" "+testAccount+":"+Sign(testKey, StringToSign(svc, scheme, r, testAccount)))
	return r
}

func TestSharedKeyErrors(t *testing.T) {
	auth := &Authenticator{Service: Queue, Keys: keys}
	ctx := context.Background()
	cases := []struct {
		name   string
		req    func() *http.Request
		inErr  string
		status int
	}{
		{"queue SharedKey", func() *http.Request {
			return signed(t, Queue, SchemeSharedKey, "PUT", "/shop/q1/messages?visibilitytimeout=5&messagettl=60", map[string]string{"x-ms-version": "2018-03-28", "Content-Type": "application/xml"})
		}, "", 0},
		{"queue SharedKeyLite", func() *http.Request {
			return signed(t, Queue, SchemeSharedKeyLite, "GET", "/shop/q1?comp=metadata", map[string]string{"x-ms-version": "2018-03-28"})
		}, "", 0},
		{"a query parameter changed", func() *http.Request {
			r := signed(t, Queue, SchemeSharedKey, "GET", "/shop/q1/messages?numofmessages=1", nil)
			r.URL.RawQuery = "numofmessages=32"
			return r
		}, "signature is not the one computed", http.StatusForbidden},
		{"an x-ms header added", func() *http.Request {
			r := signed(t, Queue, SchemeSharedKey, "GET", "/shop/q1", nil)
			r.Header.Set("x-ms-meta-k", "v")
			return r
		}, "signature is not the one computed", http.StatusForbidden},
		{"other account", func() *http.Request {
			r := signed(t, Queue, SchemeSharedKey, "GET", "/else/q1", nil)
			return r
		}, `for account "shop" but the request is for account "else"`, http.StatusForbidden},
		{"no date", func() *http.Request {
			r := signed(t, Queue, SchemeSharedKey, "GET", "/shop/q1", nil)
			r.Header.Del("x-ms-date")
			return r
		}, "neither an x-ms-date nor a Date", http.StatusForbidden},
		{"stale date", func() *http.Request {
			return signed(t, Queue, SchemeSharedKey, "GET", "/shop/q1", map[string]string{"x-ms-date": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)})
		}, "from the server's time", http.StatusForbidden},
		{"bearer", func() *http.Request {
			r := httptest.NewRequest("GET", "/shop/q1", nil)
			r.Header.Set("Authorization", "Bearer x")
			return r
		}, "must be \"SharedKey", http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req()
			account, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			_, err := auth.Verify(ctx, r, account, Target{})
			if c.inErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.inErr) || AsError(err).Status != c.status {
				t.Fatalf("err = %v; want %d containing %q", err, c.status, c.inErr)
			}
		})
	}
}

func TestCollateMatchesAzureOrder(t *testing.T) {
	// Azure sorts by letters first, ignoring '-', which decides only
	// between otherwise equal names ("x-ms-metaa" before "x-ms-meta-a");
	// '_' weighs less than digits and letters.
	in := []string{"x-ms-version", "x-ms-meta-ab", "x-ms-meta-a", "x-ms-date", "x-ms-client-request-id", "x-ms-meta-a_b", "x-ms-meta-a1", "x-ms-metaa"}
	want := []string{"x-ms-client-request-id", "x-ms-date", "x-ms-metaa", "x-ms-meta-a", "x-ms-meta-a_b", "x-ms-meta-a1", "x-ms-meta-ab", "x-ms-version"}
	h := http.Header{}
	for _, n := range in {
		h[n] = []string{"v"}
	}
	got := canonicalHeaders(h)
	var names []string
	for _, line := range strings.Split(got, "\n") {
		n, _, _ := strings.Cut(line, ":")
		names = append(names, n)
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", names, want)
	}
}
