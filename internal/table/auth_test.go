package table

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// signedRequest builds a request signed by hand with the given scheme.
type signedRequest struct {
	method, path, body string
	scheme             string // SharedKey or SharedKeyLite; "" leaves Authorization out
	account            string // account named in Authorization
	date               time.Time
	key                []byte
	authHeader         string // overrides the computed header when set
}

func (sr signedRequest) do(t *testing.T, base string) (*http.Response, string) {
	t.Helper()
	return sr.doWith(t, base, nil)
}

func (sr signedRequest) doWith(t *testing.T, base string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(sr.method, base+sr.path, strings.NewReader(sr.body))
	if err != nil {
		t.Fatal(err)
	}
	date := sr.date.UTC().Format(http.TimeFormat)
	req.Header.Set("x-ms-date", date)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json;odata=nometadata")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	path, query, _ := strings.Cut(sr.path, "?")
	resource := "/" + sr.account + path
	if strings.HasPrefix(query, "comp=") {
		resource += "?" + query
	}
	toSign := date + "\n" + resource
	if sr.scheme == "SharedKey" {
		toSign = sr.method + "\n\napplication/json\n" + date + "\n" + resource
	}
	switch {
	case sr.authHeader != "":
		req.Header.Set("Authorization", sr.authHeader)
	case sr.scheme != "":
		req.Header.Set("Authorization", sr.scheme+" "+sr.account+":"+storage.Sign(sr.key, toSign))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// errorMessage is the odata.error message of an error body.
func errorMessage(body string) string {
	var e struct {
		Err struct {
			Message struct{ Value string } `json:"message"`
		} `json:"odata.error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Err.Message.Value
}

func TestSharedKeyAuthentication(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	acct, err := env.svc.EnsureAccount(env.ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(acct.Key)
	now := time.Now()
	ok := signedRequest{method: "POST", path: "/tables/shop/Tables", body: `{"TableName":"Orders"}`,
		scheme: "SharedKey", account: "shop", date: now, key: key}
	cases := []struct {
		name    string
		mutate  func(*signedRequest)
		status  int
		inError string
	}{
		{"SharedKey", func(*signedRequest) {}, http.StatusCreated, ""},
		{"SharedKeyLite", func(r *signedRequest) {
			r.scheme, r.body = "SharedKeyLite", `{"TableName":"Lite"}`
		}, http.StatusCreated, ""},
		{"comp is signed", func(r *signedRequest) {
			r.scheme, r.method, r.path = "SharedKeyLite", "GET", "/tables/shop/Orders?comp=acl"
		}, http.StatusNotImplemented, "access policies"},
		{"wrong key", func(r *signedRequest) { r.key = []byte("nope") }, http.StatusForbidden, "signature"},
		{"other query parameters are not signed", func(r *signedRequest) { r.path = "/tables/shop/Tables?x=1" }, http.StatusCreated, ""},
		{"no header", func(r *signedRequest) { r.scheme = "" }, http.StatusForbidden, "SharedKey <account>"},
		{"bearer", func(r *signedRequest) { r.authHeader = "Bearer abc" }, http.StatusForbidden, "SharedKey"},
		{"no signature", func(r *signedRequest) { r.authHeader = "SharedKey shop:" }, http.StatusForbidden, "SharedKey <account>"},
		{"other account", func(r *signedRequest) { r.account = "else" }, http.StatusForbidden, `for account "else"`},
		{"stale date", func(r *signedRequest) { r.date = now.Add(-20 * time.Minute) }, http.StatusForbidden, "from the server's time"},
		{"future date", func(r *signedRequest) { r.date = now.Add(20 * time.Minute) }, http.StatusForbidden, "from the server's time"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			r.body = `{"TableName":"T` + string(rune('a'+i)) + `xx"}`
			c.mutate(&r)
			resp, body := r.do(t, base)
			if resp.StatusCode != c.status || !strings.Contains(errorMessage(body), c.inError) {
				t.Fatalf("status %d body %s; want %d containing %q", resp.StatusCode, body, c.status, c.inError)
			}
			if c.status == http.StatusForbidden && resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" {
				t.Fatalf("x-ms-error-code %q", resp.Header.Get("x-ms-error-code"))
			}
		})
	}
}

func TestRESTErrors(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	acct, _ := env.svc.EnsureAccount(env.ctx, "shop")
	key, _ := base64.StdEncoding.DecodeString(acct.Key)
	if err := env.svc.CreateTable(env.ctx, "shop", "Orders"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/tables/shop/Tables", `{"TableName":"a-b"}`, 400, "InvalidResourceName"},
		{"POST", "/tables/shop/Tables", `nope`, 400, "InvalidInput"},
		{"POST", "/tables/shop/Orders", `{"PartitionKey":"a/b","RowKey":"r"}`, 400, "OutOfRangeInput"},
		{"POST", "/tables/shop/Orders", `{"PartitionKey":"p","RowKey":"r","bad-name":1}`, 400, "PropertyNameInvalid"},
		{"POST", "/tables/shop/Orders", `{"PartitionKey":"p"}`, 400, "PropertiesNeedValue"},
		{"POST", "/tables/shop/Orders", `[]`, 400, "InvalidInput"},
		{"GET", "/tables/shop/Orders()?$filter=N%20eq", "", 400, "InvalidInput"},
		{"GET", "/tables/shop/Orders()?$top=0", "", 400, "InvalidInput"},
		{"DELETE", "/tables/shop/Orders(PartitionKey='p',RowKey='r')", "", 400, "MissingRequiredHeader"},
		{"GET", "/tables/shop/Orders(PartitionKey='p')", "", 400, "InvalidUri"},
		{"POST", "/tables/shop/$batch", "", 400, "InvalidInput"},
		{"PUT", "/tables/shop/Tables", "", 405, "UnsupportedHttpVerb"},
		{"GET", "/tables/shop/Missing()", "", 404, "TableNotFound"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := signedRequest{method: c.method, path: c.path, body: c.body, scheme: "SharedKeyLite", account: "shop", date: time.Now(), key: key}
			resp, body := r.do(t, base)
			if resp.StatusCode != c.status || resp.Header.Get("x-ms-error-code") != c.code || !strings.Contains(body, `"code":"`+c.code) {
				t.Fatalf("status %d code %q body %s; want %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body, c.status, c.code)
			}
		})
	}
}

// AccountKey is a storage.KeyFunc for the other Storage services.
var _ storage.KeyFunc = (*Service)(nil).AccountKey
