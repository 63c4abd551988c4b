package queue

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func adminServer(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	s.RegisterAdmin(mux)
	srv := httptest.NewServer(mux) // 127.0.0.1, random port
	t.Cleanup(srv.Close)
	return srv
}

// call makes one request and decodes a JSON answer into out (when non-nil).
func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, raw)
		}
	}
	return resp.StatusCode
}

func TestAdminRoundTrips(t *testing.T) {
	s := newService(t, Options{})
	base := adminServer(t, s).URL + "/admin/apps/shop/queues"

	var put MessageJSON
	if code := call(t, "POST", base+"/orders/messages", "hello", &put); code != http.StatusCreated {
		t.Fatalf("put: %d", code)
	}
	if put.MessageText != "aGVsbG8=" || put.Body == nil || *put.Body != "hello" || !guidRE.MatchString(put.ID) {
		t.Fatalf("put answered %+v", put)
	}
	var raw MessageJSON
	if code := call(t, "POST", base+"/orders/messages?raw=true", "plain text", &raw); code != http.StatusCreated || raw.MessageText != "plain text" || raw.Body != nil {
		t.Fatalf("raw put: %d %+v", code, raw)
	}
	var peek struct{ Messages []MessageJSON }
	if code := call(t, "GET", base+"/orders/messages?peek=5", "", &peek); code != http.StatusOK || len(peek.Messages) != 2 ||
		peek.Messages[0].ID != put.ID || peek.Messages[1].MessageText != "plain text" {
		t.Fatalf("peek: %d %+v", code, peek)
	}
	var length struct {
		Length      int
		PoisonQueue string
	}
	if code := call(t, "GET", base+"/orders", "", &length); code != http.StatusOK || length.Length != 2 || length.PoisonQueue != "orders-poison" {
		t.Fatalf("length: %d %+v", code, length)
	}
	call(t, "POST", base+"/audit/messages", "x", nil)
	var list struct{ Queues []QueueInfo }
	if code := call(t, "GET", base, "", &list); code != http.StatusOK || len(list.Queues) != 2 ||
		list.Queues[0] != (QueueInfo{"audit", 1}) || list.Queues[1] != (QueueInfo{"orders", 2}) {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := call(t, "DELETE", base+"/orders/messages", "", nil); code != http.StatusNoContent {
		t.Fatalf("clear: %d", code)
	}
	if call(t, "GET", base+"/orders", "", &length); length.Length != 0 {
		t.Fatalf("length after clear %+v", length)
	}
}

func TestAdminErrors(t *testing.T) {
	s := newService(t, Options{})
	base := adminServer(t, s).URL + "/admin/apps"
	tests := []struct {
		method, path, body string
		code               int
		mention            string
	}{
		{"GET", "/shop/queues/missing", "", http.StatusNotFound, "not found"},
		{"GET", "/shop/queues/missing/messages", "", http.StatusNotFound, "not found"},
		{"DELETE", "/shop/queues/missing/messages", "", http.StatusNotFound, "not found"},
		{"POST", "/shop/queues/Bad_Name/messages", "x", http.StatusBadRequest, "queue name"},
		{"POST", "/sh_op/queues/orders/messages", "x", http.StatusBadRequest, "app name"},
		{"GET", "/sh_op/queues", "", http.StatusBadRequest, "app name"},
		{"GET", "/shop/queues/orders/messages?peek=0", "", http.StatusBadRequest, "peek"},
		{"GET", "/shop/queues/orders/messages?peek=x", "", http.StatusBadRequest, "peek"},
		{"POST", "/shop/queues/orders/messages", strings.Repeat("x", 49*1024), http.StatusRequestEntityTooLarge, "64 KiB"},
		{"POST", "/shop/queues/orders/messages", strings.Repeat("x", 65*1024), http.StatusRequestEntityTooLarge, "request body"},
	}
	for _, tt := range tests {
		var out struct{ Error string }
		code := call(t, tt.method, base+tt.path, tt.body, &out)
		if code != tt.code || !strings.Contains(out.Error, tt.mention) {
			t.Errorf("%s %s: %d %q, want %d mentioning %q", tt.method, tt.path, code, out.Error, tt.code, tt.mention)
		}
	}
	var list struct{ Queues []QueueInfo }
	if code := call(t, "GET", base+"/nobody/queues", "", &list); code != http.StatusOK || list.Queues == nil || len(list.Queues) != 0 {
		t.Fatalf("empty list: %d %+v", code, list)
	}
}
