package table

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// keyedClients returns a shared-key service client on base and the
// options for no-credential clients on the same transport.
func keyedClients(t *testing.T, env *testEnv, base string, transport *http.Client) (*aztables.ServiceClient, *aztables.ClientOptions) {
	t.Helper()
	acct, err := env.svc.EnsureAccount(env.ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := aztables.NewSharedKeyCredential("shop", acct.Key)
	if err != nil {
		t.Fatal(err)
	}
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	if transport != nil {
		opts.Transport = transport
	}
	svc, err := aztables.NewServiceClientWithSharedKey(base+"/tables/shop/", cred, opts) // GetTableSASURL joins the table name without a slash
	if err != nil {
		t.Fatal(err)
	}
	return svc, opts
}

func TestSDKTableSAS(t *testing.T) {
	env := newEnvClock(t, nil)
	base := startREST(t, env)
	svc, opts := keyedClients(t, env, base, nil)
	ctx := env.ctx
	if _, err := svc.CreateTable(ctx, "Orders", nil); err != nil {
		t.Fatal(err)
	}
	owner := svc.NewClient("Orders")
	if _, err := owner.AddEntity(ctx, marshal(t, ent("a", "N", 1)), nil); err != nil {
		t.Fatal(err)
	}
	sasURL, err := owner.GetTableSASURL(aztables.SASPermissions{Read: true, Add: true}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	client, err := aztables.NewClientWithNoCredential(sasURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetEntity(ctx, "p", "a", nil); err != nil {
		t.Fatalf("read with a table SAS: %v", err)
	}
	if _, err := client.AddEntity(ctx, marshal(t, ent("b")), nil); err != nil {
		t.Fatalf("add with a table SAS: %v", err)
	}
	_, err = client.DeleteEntity(ctx, "p", "a", nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	_, err = client.UpsertEntity(ctx, marshal(t, ent("a")), nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	// A batch is checked operation by operation.
	_, err = client.SubmitTransaction(ctx, []aztables.TransactionAction{
		action(t, aztables.TransactionTypeAdd, ent("c"), ""),
		action(t, aztables.TransactionTypeDelete, ent("a"), ""),
	}, nil)
	if err == nil {
		t.Fatal("a batch with a delete passed a SAS without d")
	}
	if _, err := owner.GetEntity(ctx, "p", "c", nil); err == nil {
		t.Fatal("operation 0 of a refused batch was applied")
	}
	// The SAS names its table: another table is refused.
	if _, err := svc.CreateTable(ctx, "Other", nil); err != nil {
		t.Fatal(err)
	}
	other, err := aztables.NewClientWithNoCredential(base+"/tables/shop/Other?"+sasQuery(t, sasURL), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.GetEntity(ctx, "p", "a", nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationResourceTypeMismatch")
}

func sasQuery(t *testing.T, u string) string {
	t.Helper()
	for i := range u {
		if u[i] == '?' {
			return u[i+1:]
		}
	}
	t.Fatalf("%s has no query", u)
	return ""
}

// TestSDKAccountSAS uses GetAccountSASURL, which signs spr=https: the
// server is TLS.
func TestSDKAccountSAS(t *testing.T) {
	env := newEnvClock(t, nil)
	mux := http.NewServeMux()
	mux.Handle(DefaultPathPrefix+"/", env.svc.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	svc, opts := keyedClients(t, env, srv.URL, srv.Client())
	ctx := env.ctx
	all := aztables.AccountSASResourceTypes{Service: true, Container: true, Object: true}
	readOnly, err := svc.GetAccountSASURL(all, aztables.AccountSASPermissions{Read: true, List: true}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	full, err := svc.GetAccountSASURL(all, aztables.AccountSASPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true, Update: true},
		time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	writer, err := aztables.NewServiceClientWithNoCredential(full, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.CreateTable(ctx, "Orders", nil); err != nil {
		t.Fatalf("create table with an account SAS: %v", err)
	}
	if _, err := writer.NewClient("Orders").AddEntity(ctx, marshal(t, ent("a")), nil); err != nil {
		t.Fatalf("add with an account SAS: %v", err)
	}
	reader, err := aztables.NewServiceClientWithNoCredential(readOnly, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.NewListTablesPager(nil).NextPage(ctx); err != nil {
		t.Fatalf("list tables with a read SAS: %v", err)
	}
	if _, err := reader.NewClient("Orders").GetEntity(ctx, "p", "a", nil); err != nil {
		t.Fatalf("read with a read SAS: %v", err)
	}
	_, err = reader.CreateTable(ctx, "More", nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
	if _, err := reader.GetProperties(ctx, nil); err != nil {
		t.Fatalf("service properties with a read SAS: %v", err)
	}
	_, err = reader.SetProperties(ctx, aztables.ServiceProperties{}, nil)
	wantCode(t, err, http.StatusForbidden, "AuthorizationPermissionMismatch")
}

func TestSDKServiceProperties(t *testing.T) {
	env, svc, _ := sdkEnv(t)
	ctx := env.ctx
	got, err := svc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Logging == nil || got.Logging.Version == nil || *got.Logging.Version != "1.0" || len(got.Cors) != 0 {
		t.Fatalf("default properties %+v", got.ServiceProperties)
	}
	rule := &aztables.CorsRule{AllowedOrigins: to.Ptr("https://shop.example"), AllowedMethods: to.Ptr("GET,PUT"),
		AllowedHeaders: to.Ptr("x-ms-*"), ExposedHeaders: to.Ptr("x-ms-*"), MaxAgeInSeconds: to.Ptr(int32(60))}
	set := aztables.ServiceProperties{
		Cors:        []*aztables.CorsRule{rule},
		HourMetrics: &aztables.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), IncludeAPIs: to.Ptr(true), RetentionPolicy: &aztables.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(int32(7))}},
	}
	if _, err := svc.SetProperties(ctx, set, nil); err != nil {
		t.Fatal(err)
	}
	got, err = svc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Cors) != 1 || *got.Cors[0].AllowedOrigins != "https://shop.example" || *got.Cors[0].MaxAgeInSeconds != 60 {
		t.Fatalf("cors %+v", got.Cors)
	}
	if m := got.HourMetrics; m == nil || !*m.Enabled || *m.RetentionPolicy.Days != 7 || got.Logging == nil {
		t.Fatalf("properties after set: %+v", got.ServiceProperties)
	}
	bad := aztables.ServiceProperties{HourMetrics: &aztables.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), RetentionPolicy: &aztables.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(int32(999))}}}
	_, err = svc.SetProperties(ctx, bad, nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidXmlNodeValue")
	stats, err := svc.GetStatistics(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.GeoReplication == nil || *stats.GeoReplication.Status != aztables.GeoReplicationStatusLive || stats.GeoReplication.LastSyncTime == nil {
		t.Fatalf("stats %+v", stats.GeoReplication)
	}
}
