package settings

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/internal/keys"
)

func adminServer(t *testing.T, s *Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	s.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode, out
}

func TestAdminRoundTrip(t *testing.T) {
	e := newEnv(t)
	srv := adminServer(t, e.s)
	var r recorder
	e.s.Subscribe(r.fn)
	odd := "/admin/apps/shop/settings/" + url.PathEscape("Section:Key with/slash")
	steps := []struct {
		method, path, body string
		status             int
		check              func(map[string]any) bool
	}{
		{"GET", "/admin/apps/shop/settings", "", 200, func(b map[string]any) bool {
			return len(b["values"].(map[string]any)) == 0 && len(b["connectionStrings"].(map[string]any)) == 0
		}},
		{"PUT", odd, `{"value":"v1"}`, 201, func(b map[string]any) bool { return b["name"] == "Section:Key with/slash" && b["value"] == "v1" }},
		{"PUT", odd, `{"value":"v2"}`, 200, nil},
		{"GET", odd, "", 200, func(b map[string]any) bool { return b["value"] == "v2" }},
		{"PUT", "/admin/apps/shop/settings/Empty", `{"value":""}`, 201, nil},
		{"PUT", "/admin/apps/shop/connectionstrings/Db", `{"value":"Server=x"}`, 201, nil},
		{"GET", "/admin/apps/shop/settings", "", 200, func(b map[string]any) bool {
			v, c := b["values"].(map[string]any), b["connectionStrings"].(map[string]any)
			return v["Section:Key with/slash"] == "v2" && v["Empty"] == "" && c["Db"] == "Server=x" && len(v) == 2
		}},
		{"GET", "/admin/apps/shop/connectionstrings/Db", "", 200, func(b map[string]any) bool { return b["value"] == "Server=x" }},
		{"PUT", "/admin/apps/shop/settings/A", `{"valu":"x"}`, 400, errorNames("value")},
		{"PUT", "/admin/apps/shop/settings/A", `{"value":5}`, 400, errorNames("body")},
		{"PUT", "/admin/apps/shop/settings/A", `nope`, 400, errorNames("body")},
		{"PUT", "/admin/apps/shop/settings/A=B", `{"value":"x"}`, 400, errorNames("'='")},
		{"PUT", "/admin/apps/bad.app/settings/A", `{"value":"x"}`, 400, errorNames("app name")},
		{"DELETE", "/admin/apps/shop/connectionstrings/Db", "", 204, nil},
		{"DELETE", "/admin/apps/shop/connectionstrings/Db", "", 404, errorNames("Db")},
		{"GET", "/admin/apps/shop/connectionstrings/Db", "", 404, errorNames("Db")},
		{"GET", "/admin/apps/shop/settings/Missing", "", 404, errorNames("Missing")},
		{"POST", "/admin/apps/shop/settings/A", `{"value":"x"}`, 405, nil},
	}
	for _, st := range steps {
		status, body := call(t, srv, st.method, st.path, st.body)
		if status != st.status {
			t.Fatalf("%s %s: status %d, want %d (%v)", st.method, st.path, status, st.status, body)
		}
		if st.check != nil && !st.check(body) {
			t.Fatalf("%s %s: body %v", st.method, st.path, body)
		}
	}
	if v, _ := e.s.Value("shop", AppSetting, "Section:Key with/slash"); v != "v2" {
		t.Fatal("admin PUT did not reach the store")
	}
	eventually(t, "a change notification", func() bool { return r.count("shop") > 0 })
}

func errorNames(part string) func(map[string]any) bool {
	return func(b map[string]any) bool {
		msg, _ := b["error"].(string)
		return strings.Contains(msg, part)
	}
}

func TestAdminUnknownApp(t *testing.T) {
	e := newEnv(t)
	s := e.startStore(Options{Apps: func() map[string][]string { return map[string][]string{"shop": nil} }})
	srv := adminServer(t, s)
	if status, _ := call(t, srv, "GET", "/admin/apps/shop/settings", ""); status != 200 {
		t.Fatalf("known app: %d", status)
	}
	for _, p := range []string{"/admin/apps/ghost/settings", "/admin/apps/ghost/settings/A", "/admin/apps/ghost/connectionstrings/A"} {
		if status, body := call(t, srv, "GET", p, ""); status != 404 || !errorNames("ghost")(body) {
			t.Errorf("GET %s: %d %v", p, status, body)
		}
	}
	if status, _ := call(t, srv, "PUT", "/admin/apps/ghost/settings/A", `{"value":"x"}`); status != 404 {
		t.Errorf("PUT to unknown app: %d", status)
	}
}

// TestAdminSharesMuxWithKeys checks that the settings and keys admin
// routes can live on one mux (conflicting patterns panic at registration).
func TestAdminSharesMuxWithKeys(t *testing.T) {
	e := newEnv(t)
	ks, err := keys.New(keys.Options{Broker: e.b, Master: "master-key-for-tests-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.s.RegisterAdmin(mux)
	ks.RegisterAdmin(mux)
	req := httptest.NewRequest("GET", "/admin/apps/shop/settings", nil)
	if _, pattern := mux.Handler(req); pattern != "GET /admin/apps/{app}/settings" {
		t.Fatalf("pattern %q", pattern)
	}
}
