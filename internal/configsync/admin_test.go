package configsync

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

func serveAdmin(t *testing.T, n *node) *Client {
	t.Helper()
	mux := http.NewServeMux()
	n.sync.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Client{Region: n.name, URL: srv.URL, Key: "unused-here"}
}

// TestAdminPlanApplyAudit runs the CLI's path: the primary's snapshot over
// HTTP, plan and apply on the secondary, then its audit log.
func TestAdminPlanApplyAudit(t *testing.T) {
	east := startNode(t, startBroker(t, "east", false), nil)
	west := startNode(t, startBroker(t, "west", false), nil)
	ec, wc := serveAdmin(t, east), serveAdmin(t, west)
	ctx := testCtx(t)
	mustPut(t, east, "shop", settings.AppSetting, "A", "1")
	mustPut(t, east, "shop", settings.AppSetting, "WEBSITE_SITE_NAME", "east")
	mustSetKey(t, east, "shop", keys.FunctionScope("hello"), "default", fnKeyP)
	mustPut(t, east, "blog", settings.AppSetting, "B", "1")
	mustPut(t, west, "shop", settings.AppSetting, "LOCAL", "x")

	snap, err := ec.Snapshot(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Apps["blog"]; ok || snap.Apps["shop"].FunctionKeys["hello"]["default"] != fnKeyP {
		t.Fatalf("snapshot %+v", snap)
	}
	req := Request{Source: snap}
	plan, err := wc.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"add setting A", "excluded setting WEBSITE_SITE_NAME", "orphan setting LOCAL", "add functionkey hello/HA-default"}
	if got := lines(plan.Changes); !slices.Equal(got, want) {
		t.Fatalf("plan %q, want %q", got, want)
	}
	res, err := wc.Apply(ctx, Request{Source: snap, Exclude: []string{"WEBSITE_*"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(Add) != 2 || !res.Changes[0].Applied || res.Changes[1].Applied {
		t.Fatalf("apply %+v", res.Changes)
	}
	if west.keys.Authorize("shop", "hello", fnKeyP) != keys.Function {
		t.Fatal("the applied function key does not authenticate")
	}
	entries, err := wc.Audit(ctx, AuditQuery{App: "shop", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "A" || entries[1].Name != "HA-default" || entries[1].Function != "hello" {
		t.Fatalf("audit %+v", entries)
	}
	if tail, _ := wc.Audit(ctx, AuditQuery{Limit: 1}); len(tail) != 1 || tail[0].Name != "HA-default" {
		t.Fatalf("last entry %+v", tail)
	}
	if later, _ := wc.Audit(ctx, AuditQuery{Since: entries[1].Time.Add(1e9)}); len(later) != 0 {
		t.Fatalf("entries after the last one: %+v", later)
	}
}

func TestAdminRejectsBadRequests(t *testing.T) {
	west := startNode(t, startBroker(t, "west", false), nil)
	wc := serveAdmin(t, west)
	cases := []struct {
		method, path, body string
		status             int
		mention            string
	}{
		{"POST", "/admin/sync/plan", `{}`, 400, `field \"source\"`},
		{"POST", "/admin/sync/apply", `{"source":{"region":"east"},"exclude":["["]}`, 400, `field \"exclude\"`},
		{"POST", "/admin/sync/plan", `{"source":{"region":"east","apps":{"a_b":{}}}}`, 400, `field \"source.apps\"`},
		{"POST", "/admin/sync/plan", `{"source":{"region":"east"},"extra":1}`, 400, "extra"},
		{"POST", "/admin/sync/plan", `not json`, 400, "request body"},
		{"POST", "/admin/sync/plan", `{"source":{"region":"west","apps":{}}}`, 409, "this region"},
		{"GET", "/admin/sync/audit?limit=0", ``, 400, "limit"},
		{"GET", "/admin/sync/audit?since=yesterday", ``, 400, "since"},
		{"GET", "/admin/sync/snapshot?app=a_b", ``, 400, "app"},
		{"GET", "/admin/sync/status", ``, 200, `"exclude":["WEBSITE_*"]`},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, wc.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.mention) {
				t.Fatalf("HTTP %d %s, want %d mentioning %s", resp.StatusCode, body, tc.status, tc.mention)
			}
		})
	}
}
