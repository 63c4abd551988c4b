package table

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// startREST serves the table endpoint the way the region mounts it.
func startREST(t *testing.T, env *testEnv) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(DefaultPathPrefix+"/", env.svc.Handler())
	env.svc.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func sdkClient(t *testing.T, connStr string) *aztables.ServiceClient {
	t.Helper()
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	c, err := aztables.NewServiceClientFromConnectionString(connStr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sdkEnv(t *testing.T) (*testEnv, *aztables.ServiceClient, string) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	acct, err := env.svc.EnsureAccount(env.ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return env, sdkClient(t, acct.ConnectionString(base)), base
}

func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSDKEndToEnd(t *testing.T) {
	env, svc, _ := sdkEnv(t)
	ctx := env.ctx
	if _, err := svc.CreateTable(ctx, "Orders", nil); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CreateTable(ctx, "orders", nil)
	wantCode(t, err, http.StatusConflict, "TableAlreadyExists")
	client := svc.NewClient("Orders")

	born := time.Date(1990, 1, 2, 3, 4, 5, 600700800, time.UTC)
	typed := aztables.EDMEntity{
		Entity: aztables.Entity{PartitionKey: "p", RowKey: "typed"},
		Properties: map[string]any{
			"Name": "Ada", "Age": int32(36), "Big": aztables.EDMInt64(1 << 40), "Ratio": 0.5,
			"Active": true, "Born": aztables.EDMDateTime(born),
			"Id":   aztables.EDMGUID("c9da6455-213d-42c9-9a79-3e9149a57833"),
			"Blob": aztables.EDMBinary([]byte{1, 2, 3}),
		},
	}
	added, err := client.AddEntity(ctx, marshal(t, typed), nil)
	if err != nil {
		t.Fatal(err)
	}
	if added.ETag == "" {
		t.Fatal("AddEntity returned no ETag")
	}
	_, err = client.AddEntity(ctx, marshal(t, typed), nil)
	wantCode(t, err, http.StatusConflict, "EntityAlreadyExists")

	got, err := client.GetEntity(ctx, "p", "typed", nil)
	if err != nil {
		t.Fatal(err)
	}
	var back aztables.EDMEntity
	if err := json.Unmarshal(got.Value, &back); err != nil {
		t.Fatal(err)
	}
	checkTypedProps(t, back, born)
	if got.ETag != added.ETag || time.Since(time.Time(back.Timestamp)).Abs() > time.Minute {
		t.Fatalf("GetEntity ETag %s (added %s), Timestamp %v", got.ETag, added.ETag, time.Time(back.Timestamp))
	}

	sdkUpserts(t, client)
	sdkUpdates(t, client)
	sdkPaging(t, client)
	sdkDeletes(t, client)
	sdkTables(t, svc)
}

func checkTypedProps(t *testing.T, e aztables.EDMEntity, born time.Time) {
	t.Helper()
	p := e.Properties
	if p["Name"] != "Ada" || p["Age"] != int32(36) || p["Big"] != aztables.EDMInt64(1<<40) || p["Ratio"] != 0.5 || p["Active"] != true {
		t.Fatalf("scalar properties read back as %#v", p)
	}
	if dt, ok := p["Born"].(aztables.EDMDateTime); !ok || !time.Time(dt).Equal(born.Truncate(100*time.Nanosecond)) {
		t.Fatalf("Born = %#v", p["Born"])
	}
	if p["Id"] != aztables.EDMGUID("c9da6455-213d-42c9-9a79-3e9149a57833") {
		t.Fatalf("Id = %#v", p["Id"])
	}
	if b, ok := p["Blob"].(aztables.EDMBinary); !ok || !slices.Equal(b, []byte{1, 2, 3}) {
		t.Fatalf("Blob = %#v", p["Blob"])
	}
}

func getProps(t *testing.T, client *aztables.Client, pk, rk string) map[string]any {
	t.Helper()
	got, err := client.GetEntity(t.Context(), pk, rk, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got.Value, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sdkUpserts(t *testing.T, client *aztables.Client) {
	ctx := t.Context()
	base := map[string]any{"PartitionKey": "it's", "RowKey": "u", "A": "a", "B": 2}
	if _, err := client.UpsertEntity(ctx, marshal(t, base), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		t.Fatal(err)
	}
	merge := map[string]any{"PartitionKey": "it's", "RowKey": "u", "C": true}
	if _, err := client.UpsertEntity(ctx, marshal(t, merge), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge}); err != nil {
		t.Fatal(err)
	}
	if m := getProps(t, client, "it's", "u"); m["A"] != "a" || m["B"] != 2.0 || m["C"] != true {
		t.Fatalf("after merge: %v", m)
	}
	if _, err := client.UpsertEntity(ctx, marshal(t, merge), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace}); err != nil {
		t.Fatal(err)
	}
	if m := getProps(t, client, "it's", "u"); m["A"] != nil || m["C"] != true {
		t.Fatalf("after replace: %v", m)
	}
}

func sdkUpdates(t *testing.T, client *aztables.Client) {
	ctx := t.Context()
	cur, err := client.GetEntity(ctx, "p", "typed", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := marshal(t, map[string]any{"PartitionKey": "p", "RowKey": "typed", "Extra": "x"})
	upd, err := client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &cur.ETag, UpdateMode: aztables.UpdateModeMerge})
	if err != nil {
		t.Fatal(err)
	}
	if upd.ETag == cur.ETag || upd.ETag == "" {
		t.Fatalf("ETag after update %q (before %q)", upd.ETag, cur.ETag)
	}
	_, err = client.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &cur.ETag, UpdateMode: aztables.UpdateModeReplace})
	wantCode(t, err, http.StatusPreconditionFailed, "UpdateConditionNotSatisfied")
	if m := getProps(t, client, "p", "typed"); m["Extra"] != "x" || m["Name"] != "Ada" {
		t.Fatalf("merge with ETag lost data: %v", m)
	}
	missing := marshal(t, map[string]any{"PartitionKey": "p", "RowKey": "nobody"})
	_, err = client.UpdateEntity(ctx, missing, &aztables.UpdateEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	wantCode(t, err, http.StatusNotFound, "ResourceNotFound")
}

func sdkPaging(t *testing.T, client *aztables.Client) {
	ctx := t.Context()
	for i := range 7 {
		e := map[string]any{"PartitionKey": "page", "RowKey": string(rune('a' + i)), "N": i, "Odd": i%2 == 1}
		if _, err := client.AddEntity(ctx, marshal(t, e), nil); err != nil {
			t.Fatal(err)
		}
	}
	pager := client.NewListEntitiesPager(&aztables.ListEntitiesOptions{
		Filter: to.Ptr("PartitionKey eq 'page' and N ge 1"), Top: to.Ptr(int32(2)), Select: to.Ptr("RowKey,N"),
	})
	var rows []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, raw := range page.Entities {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			if _, has := m["Odd"]; has {
				t.Fatalf("$select leaked Odd: %v", m)
			}
			rows = append(rows, m["RowKey"].(string))
		}
	}
	if pages != 3 || !slices.Equal(rows, []string{"b", "c", "d", "e", "f", "g"}) {
		t.Fatalf("%d pages, rows %v; want 3 pages b..g", pages, rows)
	}
}

func sdkDeletes(t *testing.T, client *aztables.Client) {
	ctx := t.Context()
	cur, err := client.GetEntity(ctx, "page", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpsertEntity(ctx, marshal(t, map[string]any{"PartitionKey": "page", "RowKey": "a", "N": 100}), nil); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeleteEntity(ctx, "page", "a", &aztables.DeleteEntityOptions{IfMatch: &cur.ETag})
	wantCode(t, err, http.StatusPreconditionFailed, "UpdateConditionNotSatisfied")
	if _, err := client.DeleteEntity(ctx, "page", "a", nil); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetEntity(ctx, "page", "a", nil)
	wantCode(t, err, http.StatusNotFound, "ResourceNotFound")
}

func sdkTables(t *testing.T, svc *aztables.ServiceClient) {
	ctx := t.Context()
	for _, name := range []string{"Alpha", "Beta", "Gamma"} {
		if _, err := svc.CreateTable(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pager := svc.NewListTablesPager(&aztables.ListTablesOptions{Filter: to.Ptr("TableName ne 'Beta'"), Top: to.Ptr(int32(1))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range page.Tables {
			names = append(names, *tp.Name)
		}
	}
	if !slices.Equal(names, []string{"Alpha", "Gamma", "Orders"}) {
		t.Fatalf("tables %v", names)
	}
	if _, err := svc.DeleteTable(ctx, "Orders", nil); err != nil {
		t.Fatal(err)
	}
	_, err := svc.NewClient("Orders").GetEntity(ctx, "p", "typed", nil)
	wantCode(t, err, http.StatusNotFound, "TableNotFound")
	_, err = svc.DeleteTable(ctx, "Orders", nil)
	wantCode(t, err, http.StatusNotFound, "ResourceNotFound")
}

func TestSDKRejectsWrongKey(t *testing.T) {
	env, _, base := sdkEnv(t)
	other, err := env.svc.EnsureAccount(env.ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	shop, _ := env.svc.EnsureAccount(env.ctx, "shop")
	forged := shop
	forged.Key = other.Key
	_, err = sdkClient(t, forged.ConnectionString(base)).CreateTable(env.ctx, "Orders", nil)
	wantCode(t, err, http.StatusForbidden, "AuthenticationFailed")
	ghost := Account{Name: "ghost", Key: other.Key, Path: "/tables/ghost"}
	_, err = sdkClient(t, ghost.ConnectionString(base)).CreateTable(env.ctx, "Orders", nil)
	wantCode(t, err, http.StatusForbidden, "AuthenticationFailed")
}
