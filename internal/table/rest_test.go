package table

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Protocol details other SDKs rely on: MERGE tunnelled through POST,
// odata=nometadata, Prefer: return-no-content, Tables('x') lookups.
func TestRESTProtocolDetails(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	acct, _ := env.svc.EnsureAccount(env.ctx, "shop")
	key, _ := base64.StdEncoding.DecodeString(acct.Key)
	call := func(method, path, body string, header map[string]string) (*http.Response, string) {
		r := signedRequest{method: method, path: path, body: body, scheme: "SharedKeyLite", account: "shop", date: time.Now(), key: key}
		return r.doWith(t, base, header)
	}
	resp, _ := call("POST", "/tables/shop/Tables", `{"TableName":"Orders"}`, map[string]string{"Prefer": "return-no-content"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Preference-Applied") != "return-no-content" {
		t.Fatalf("create with return-no-content: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := call("GET", "/tables/shop/Tables('orders')", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"TableName":"Orders"`) {
		t.Fatalf("Tables('orders'): %d %s", resp.StatusCode, body)
	}
	entityBody := `{"PartitionKey":"p","RowKey":"r","Big@odata.type":"Edm.Int64","Big":"7"}`
	resp, body = call("POST", "/tables/shop/Orders", entityBody, map[string]string{"Accept": "application/json;odata=minimalmetadata"})
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") == "" || !strings.Contains(body, `"odata.etag"`) {
		t.Fatalf("insert: %d %s", resp.StatusCode, body)
	}
	resp, _ = call("POST", "/tables/shop/Orders(PartitionKey='p',RowKey='r')", `{"Added":true}`,
		map[string]string{"X-HTTP-Method": "MERGE", "If-Match": "*"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("tunnelled MERGE: %d", resp.StatusCode)
	}
	resp, body = call("GET", "/tables/shop/Orders(PartitionKey='p',RowKey='r')", "", map[string]string{"Accept": "application/json;odata=nometadata"})
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if m["Added"] != true || m["Big"] != "7" || m["Big@odata.type"] != nil || m["odata.etag"] != nil {
		t.Fatalf("nometadata entity %v", m)
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "odata=nometadata") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
}
