package deploy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// adminServer serves a Manager's endpoints on a real listener.
func adminServer(t *testing.T, maxSize int64) (*Manager, *Client) {
	t.Helper()
	data := t.TempDir()
	m, err := New(Options{Broker: startBroker(t, "east", data, false), DataDir: data, Load: (&loads{}).load, MaxSize: maxSize, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(testCtx(t)) })
	mux := http.NewServeMux()
	m.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return m, &Client{Region: "east", URL: srv.URL, Key: "unused-here"}
}

func TestAdminPushListDownload(t *testing.T) {
	_, c := adminServer(t, 0)
	v1 := appVersion(t, 1)
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	res, err := c.Push(testCtx(t), "shop", v1, at)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != v1.Version || res.Unchanged || !res.DeployedAt.Equal(at) {
		t.Fatalf("push result %+v", res)
	}
	if res, err = c.Push(testCtx(t), "shop", v1, at.Add(time.Hour)); err != nil || !res.Unchanged {
		t.Fatalf("second push: %+v %v", res, err)
	}
	list, err := c.Packages(testCtx(t))
	if err != nil || len(list) != 1 || list[0].App != "shop" || list[0].Active != v1.Version || list[0].LoadError != "" {
		t.Fatalf("packages %+v %v", list, err)
	}
	got, gotAt, err := c.Archive(testCtx(t), "shop")
	if err != nil || got.Version != v1.Version || !bytes.Equal(got.Archive, v1.Archive) || !gotAt.Equal(at) {
		t.Fatalf("download: version %s at %v err %v", got.Version, gotAt, err)
	}
}

func TestAdminErrors(t *testing.T) {
	_, c := adminServer(t, 4096)
	good := appVersion(t, 1)
	big := bytes.Repeat([]byte("x"), 5000)
	cases := []struct {
		name, method, path string
		body               []byte
		header             map[string]string
		code               int
		mention            string
	}{
		{"bad app name", "PUT", "/admin/apps/bad_name/package", good.Archive, nil, 400, "{app}"},
		{"bad deploy time", "PUT", "/admin/apps/shop/package", good.Archive, map[string]string{HeaderDeployedAt: "yesterday"}, 400, HeaderDeployedAt},
		{"version mismatch", "PUT", "/admin/apps/shop/package", good.Archive, map[string]string{HeaderVersion: strings.Repeat("0", 64)}, 400, "does not match"},
		{"not an archive", "PUT", "/admin/apps/shop/package", []byte("plain text"), nil, 400, "gzip"},
		{"too large", "PUT", "/admin/apps/shop/package", big, nil, 413, "request body"},
		{"app that does not load", "PUT", "/admin/apps/shop/package", mustPack(t, writeTree(t, map[string]string{"host.json": "{}"})).Archive, nil, 422, "host.json"},
		{"never deployed", "GET", "/admin/apps/shop/package", nil, nil, 404, "no package deployed"},
		{"no archive", "GET", "/admin/apps/shop/package/archive", nil, nil, 404, "no package deployed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, c.URL+tc.path, bytes.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.code || !strings.Contains(e.Error, tc.mention) {
				t.Fatalf("%d %q, want %d mentioning %q", resp.StatusCode, e.Error, tc.code, tc.mention)
			}
		})
	}
}
