package table

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func adminGetJSON(t *testing.T, u string, wantStatus int, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d", u, resp.StatusCode, wantStatus)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// The connection string the admin API hands out works with the SDK, and the
// inspection routes show what the SDK wrote.
func TestAdminStorageAndInspection(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	var info storageInfo
	adminGetJSON(t, base+"/admin/apps/shop/storage", http.StatusOK, &info)
	if info.Account != "shop" || info.Key == "" || info.TableEndpoint != base+"/tables/shop" {
		t.Fatalf("storage info %+v", info)
	}
	var again storageInfo
	adminGetJSON(t, base+"/admin/apps/shop/storage", http.StatusOK, &again)
	if again.Key != info.Key {
		t.Fatal("the account key changed between calls")
	}
	svc := sdkClient(t, info.ConnectionString)
	if _, err := svc.CreateTable(t.Context(), "Inventory", nil); err != nil {
		t.Fatal(err)
	}
	client := svc.NewClient("Inventory")
	for _, rk := range []string{"a b", "c"} {
		body := marshal(t, map[string]any{"PartitionKey": "shelf 1", "RowKey": rk, "Count": 3})
		if _, err := client.AddEntity(t.Context(), body, nil); err != nil {
			t.Fatal(err)
		}
	}

	var tables struct{ Tables []string }
	adminGetJSON(t, base+"/admin/apps/shop/tables", http.StatusOK, &tables)
	if !slices.Equal(tables.Tables, []string{"Inventory"}) {
		t.Fatalf("tables %v", tables.Tables)
	}
	var page struct {
		Entities         []map[string]any
		NextPartitionKey string
	}
	q := url.Values{"filter": {"RowKey ge 'a'"}, "top": {"1"}}
	adminGetJSON(t, base+"/admin/apps/shop/tables/Inventory/entities?"+q.Encode(), http.StatusOK, &page)
	if len(page.Entities) != 1 || page.Entities[0]["RowKey"] != "a b" || page.NextPartitionKey == "" {
		t.Fatalf("page %+v", page)
	}
	var one map[string]any
	adminGetJSON(t, base+"/admin/apps/shop/tables/Inventory/entities/shelf%201/c", http.StatusOK, &one)
	if one["Count"] != 3.0 || one["odata.etag"] == "" {
		t.Fatalf("entity %v", one)
	}
}

func TestAdminErrors(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	cases := []struct {
		path    string
		status  int
		inError string
	}{
		{"/admin/apps/bad_app/storage", 400, "app name"},
		{"/admin/apps/shop/tables/Missing/entities", 404, "Missing"},
		{"/admin/apps/shop/tables/Missing/entities?top=x", 400, "top"},
		{"/admin/apps/shop/tables/Missing/entities/p/r", 404, "Missing"},
	}
	for _, c := range cases {
		var body struct{ Error string }
		adminGetJSON(t, base+c.path, c.status, &body)
		if !strings.Contains(body.Error, c.inError) {
			t.Errorf("%s: error %q does not mention %q", c.path, body.Error, c.inError)
		}
	}
}
