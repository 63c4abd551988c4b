package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// TestStorageConnectionStringWorksThroughFailover: the connection string a
// region hands out names the deployment's public address (the first
// traffic manager), so an app's own SDK code keeps working when the
// primary changes: an entity written through it before east is killed is
// read through the same string once west leads, and written again there.
func TestStorageConnectionStringWorksThroughFailover(t *testing.T) {
	c := startCluster(t)
	east := c.Region("east")
	key, err := east.MasterKey()
	if err != nil {
		t.Fatal(err)
	}
	code, body := adminCall(t, http.MethodGet, east.DirectURL()+"/admin/apps/echo/storage", key)
	if code != 200 {
		t.Fatalf("storage of echo: %d %s", code, body)
	}
	var si struct {
		TableEndpoint    string `json:"tableEndpoint"`
		ConnectionString string `json:"connectionString"`
	}
	if err := json.Unmarshal(body, &si); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(si.TableEndpoint, c.PublicURL()+"/tables/") {
		t.Fatalf("table endpoint %s is not on the public address %s", si.TableEndpoint, c.PublicURL())
	}
	svc, err := aztables.NewServiceClientFromConnectionString(si.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tbl := svc.NewClient("orders")
	if _, err := tbl.CreateTable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	put := func(row string) {
		t.Helper()
		ent, _ := json.Marshal(map[string]string{"PartitionKey": "p", "RowKey": row, "Who": "sdk"})
		if _, err := tbl.UpsertEntity(ctx, ent, nil); err != nil {
			t.Fatalf("upsert %s: %v", row, err)
		}
	}
	put("before")
	eventually(t, "west to have the entity", 30*time.Second, func() bool { return westHas(t, c, "before") })
	if err := c.KillRegion("east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "west primary", time.Minute, func() bool { return c.Primary() == "west" })
	got, err := tbl.GetEntity(ctx, "p", "before", nil)
	if err != nil || !strings.Contains(string(got.Value), `"Who":"sdk"`) {
		t.Fatalf("read through the same string after the failover: %v %s", err, got.Value)
	}
	put("after") // held or refused-and-retried until west is promoted; the SDK retries 503
}

// westHas reports whether west's replica holds row (read straight from
// west's table admin API).
func westHas(t *testing.T, c *Cluster, row string) bool {
	west := c.Region("west")
	key, err := west.MasterKey()
	if err != nil {
		return false
	}
	code, body := adminCall(t, http.MethodGet, west.DirectURL()+"/admin/apps/echo/tables/orders/entities", key)
	return code == 200 && strings.Contains(string(body), row)
}
