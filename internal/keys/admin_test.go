package keys

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type adminEnv struct {
	*env
	srv *httptest.Server
}

func newAdmin(t *testing.T, masterPath bool) *adminEnv {
	t.Helper()
	e := newEnv(t)
	if masterPath {
		e.master = filepath.Join(e.dir, MasterFile)
		if err := os.WriteFile(e.master, []byte(testMaster), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = e.s.Shutdown(e.ctx)
		e.s = e.startStore()
	}
	if err := e.s.EnsureDefaults(e.ctx, "shop", e.apps["shop"]); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.s.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &adminEnv{env: e, srv: srv}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (a *adminEnv) do(method, path, body string, header ...string) reply {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header}
	if len(data) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &r.body); err != nil {
			a.t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, data, err)
		}
	}
	return r
}

func keyNames(t *testing.T, body map[string]any) []string {
	t.Helper()
	list, ok := body["keys"].([]any)
	if !ok {
		t.Fatalf("no keys array in %v", body)
	}
	var names []string
	for _, k := range list {
		m := k.(map[string]any)
		if _, ok := m["value"].(string); !ok {
			t.Fatalf("key without value: %v", m)
		}
		names = append(names, m["name"].(string))
	}
	return names
}

func selfLink(body map[string]any) string {
	links, _ := body["links"].([]any)
	if len(links) != 1 {
		return ""
	}
	l := links[0].(map[string]any)
	if l["rel"] != "self" {
		return ""
	}
	s, _ := l["href"].(string)
	return s
}

func TestAdminListAndGet(t *testing.T) {
	a := newAdmin(t, false)
	a.set("shop", SystemScope(), "ext", "system-value-1")
	tests := []struct {
		path   string
		status int
		names  []string // for lists
		value  string   // for single keys
	}{
		{"/admin/apps/shop/host/keys", 200, []string{"default"}, ""},
		{"/admin/apps/shop/host/functionkeys", 200, []string{"default"}, ""},
		{"/admin/apps/shop/host/SystemKeys", 200, []string{"ext"}, ""},
		{"/admin/apps/shop/host/systemkeys/_master", 200, nil, testMaster},
		{"/admin/apps/shop/host/systemkeys/ext", 200, nil, "system-value-1"},
		{"/admin/apps/shop/host/keys/_master", 404, nil, ""},
		{"/admin/apps/shop/host/keys/nope", 404, nil, ""},
		{"/admin/apps/shop/host/otherkeys", 404, nil, ""},
		{"/admin/apps/shop/functions/Hello/keys", 200, []string{"default"}, ""},
		{"/admin/apps/shop/functions/Nope/keys", 404, nil, ""},
		{"/admin/apps/ghost/host/keys", 404, nil, ""},
		{"/admin/host/systemkeys/_master", 200, nil, testMaster},
		{"/admin/host/keys", 200, []string{"default"}, ""},
		{"/admin/functions/Orders/keys", 200, []string{"default"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := a.do("GET", tc.path, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (%v)", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				if msg, _ := r.body["error"].(string); msg == "" {
					t.Errorf("error body %v has no message", r.body)
				}
				return
			}
			if selfLink(r.body) != a.srv.URL+tc.path {
				t.Errorf("self link %q, want %q", selfLink(r.body), a.srv.URL+tc.path)
			}
			if tc.names != nil {
				if got := keyNames(t, r.body); strings.Join(got, ",") != strings.Join(tc.names, ",") {
					t.Errorf("names %v, want %v", got, tc.names)
				}
				return
			}
			if r.body["value"] != tc.value || r.body["name"] != tc.path[strings.LastIndex(tc.path, "/")+1:] {
				t.Errorf("body %v", r.body)
			}
		})
	}
}

func TestAdminWriteRoundTrip(t *testing.T) {
	a := newAdmin(t, false)
	base := "/admin/apps/shop/functions/Hello/keys/ci"
	r := a.do("POST", base, "")
	first, _ := r.body["value"].(string)
	if r.status != 201 || len(first) != 56 || r.header.Get("Location") == "" {
		t.Fatalf("POST new: %d %v %v", r.status, r.body, r.header)
	}
	if a.s.Authorize("shop", "Hello", first) != Function {
		t.Fatal("generated key does not authorize at once")
	}
	r = a.do("POST", base, "")
	if second, _ := r.body["value"].(string); r.status != 200 || second == first || len(second) != 56 {
		t.Fatalf("POST again: %d %v", r.status, r.body)
	}
	r = a.do("PUT", base, `{"name":"ci","value":"chosen-value-123"}`)
	if r.status != 200 || r.body["value"] != "chosen-value-123" || r.body["name"] != "ci" {
		t.Fatalf("PUT: %d %v", r.status, r.body)
	}
	r = a.do("PUT", "/admin/apps/shop/host/functionkeys/new", `{"name":"new","value":"host-value-0123456789"}`)
	if r.status != 201 || a.s.Authorize("shop", "Orders", "host-value-0123456789") != Function {
		t.Fatalf("PUT new host key: %d %v", r.status, r.body)
	}
	for _, body := range []string{`{"name":"ci"}`, `{"name":"ci","value":""}`, `not json`, `{"value":"has space"}`} {
		r = a.do("PUT", base, body)
		if msg, _ := r.body["error"].(string); r.status != 400 || !strings.Contains(msg, "value") && !strings.Contains(msg, "body") {
			t.Errorf("PUT %s: %d %v", body, r.status, r.body)
		}
	}
	if r = a.do("DELETE", base, ""); r.status != 204 {
		t.Fatalf("DELETE: %d %v", r.status, r.body)
	}
	if r = a.do("DELETE", base, ""); r.status != 404 {
		t.Fatalf("DELETE again: %d", r.status)
	}
	if r = a.do("GET", base, ""); r.status != 404 {
		t.Fatalf("GET deleted: %d", r.status)
	}
	for _, p := range []string{"/admin/host/systemkeys/_master", "/admin/apps/shop/functions/Hello/keys/_x"} {
		if r = a.do("DELETE", p, ""); r.status != 400 || !strings.Contains(r.body["error"].(string), "_") {
			t.Errorf("DELETE %s: %d %v", p, r.status, r.body)
		}
	}
	if r = a.do("POST", "/admin/apps/shop/functions/Nope/keys/x", ""); r.status != 404 {
		t.Errorf("POST to unknown function: %d", r.status)
	}
	if r = a.do("PATCH", base, ""); r.status != 405 {
		t.Errorf("PATCH: %d", r.status)
	}
}

func TestAdminPicksApp(t *testing.T) {
	a := newAdmin(t, false)
	a.apps["blog"] = []string{"Post"}
	a.set("blog", HostScope(), "default", "blog-host-key-1")
	r := a.do("GET", "/admin/host/keys", "")
	if msg, _ := r.body["error"].(string); r.status != 400 || !strings.Contains(msg, "blog, shop") {
		t.Fatalf("ambiguous: %d %v", r.status, r.body)
	}
	r = a.do("GET", "/admin/host/keys/default?app=blog", "")
	if r.status != 200 || r.body["value"] != "blog-host-key-1" {
		t.Fatalf("?app=: %d %v", r.status, r.body)
	}
	r = a.do("GET", "/admin/functions/Post/keys", "", AppHeader, "blog")
	if r.status != 200 {
		t.Fatalf("header: %d %v", r.status, r.body)
	}
	if r = a.do("GET", "/admin/host/keys?app=ghost", ""); r.status != 404 {
		t.Fatalf("unknown app: %d", r.status)
	}
	r = a.do("POST", "/admin/host/keys/extra?app=blog", "")
	if r.status != 201 || len(a.s.List("blog", HostScope())) != 2 {
		t.Fatalf("POST with ?app=: %d %v", r.status, r.body)
	}
}

func TestAdminMasterKey(t *testing.T) {
	a := newAdmin(t, true)
	r := a.do("POST", "/admin/host/systemkeys/_master", "")
	rotated, _ := r.body["value"].(string)
	if r.status != 200 || len(rotated) != 56 {
		t.Fatalf("POST _master: %d %v", r.status, r.body)
	}
	if a.s.IsMaster(testMaster) || !a.s.IsMaster(rotated) || a.s.Authorize("shop", "Hello", rotated) != Admin {
		t.Fatal("master key not replaced in memory")
	}
	data, _ := os.ReadFile(a.master)
	if strings.TrimSpace(string(data)) != rotated {
		t.Fatal("master key file not rewritten")
	}
	if fi, _ := os.Stat(a.master); fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode %v", fi.Mode().Perm())
	}
	r = a.do("PUT", "/admin/apps/shop/host/keys/_MASTER", `{"value":"chosen-master-key-99"}`)
	if r.status != 200 || !a.s.IsMaster("chosen-master-key-99") {
		t.Fatalf("PUT _master: %d %v", r.status, r.body)
	}
	if key, _, _, err := LoadMaster(filepath.Dir(a.master), ""); err != nil || key != "chosen-master-key-99" {
		t.Fatalf("LoadMaster after PUT: %v", err)
	}

	fixed := newAdmin(t, false)
	if r := fixed.do("POST", "/admin/host/systemkeys/_master", ""); r.status != 403 || !fixed.s.IsMaster(testMaster) {
		t.Fatalf("POST _master without a key file: %d %v", r.status, r.body)
	}
}
