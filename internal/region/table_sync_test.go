package region

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tandemhq/tandem/internal/role"
)

// westHasRow reads the row from west's replica (a secondary serves
// reads from its mirror), once, without polling.
func westHasRow(ctx context.Context, west *aztables.Client, row string, want bool) bool {
	_, err := west.GetEntity(ctx, "p", row, nil)
	return (err == nil) == want
}

// TestTableRESTWritesWaitForTheStandbyInSyncMode: with the app in sync
// mode, an entity insert, upsert and delete and an entity group
// transaction sent with the aztables SDK are acknowledged only once west,
// the standby, stored them; with west gone, none is acknowledged.
func TestTableRESTWritesWaitForTheStandbyInSyncMode(t *testing.T) {
	app := blobSyncApp()
	east, west := syncPair(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tbl := tablesClient(t, east, connString(t, east, app.name)).NewClient("orders")
	westTbl := tablesClient(t, west, connString(t, west, app.name)).NewClient("orders")
	if _, err := tbl.CreateTable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	entity := func(row string) []byte {
		b, _ := json.Marshal(map[string]string{"PartitionKey": "p", "RowKey": row, "V": "1"})
		return b
	}
	steps := []struct {
		name, row string
		present   bool
		write     func() error
	}{
		{"insert", "a", true, func() error { _, err := tbl.AddEntity(ctx, entity("a"), nil); return err }},
		{"upsert", "b", true, func() error { _, err := tbl.UpsertEntity(ctx, entity("b"), nil); return err }},
		{"delete", "a", false, func() error { _, err := tbl.DeleteEntity(ctx, "p", "a", nil); return err }},
		{"transaction", "c", true, func() error {
			_, err := tbl.SubmitTransaction(ctx, []aztables.TransactionAction{
				{ActionType: aztables.TransactionTypeAdd, Entity: entity("c")},
				{ActionType: aztables.TransactionTypeAdd, Entity: entity("d")},
			}, nil)
			return err
		}},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !westHasRow(ctx, westTbl, s.row, s.present) {
			t.Fatalf("%s of %s acknowledged before west stored it", s.name, s.row)
		}
	}

	sctx, scancel := context.WithTimeout(ctx, 15*time.Second)
	defer scancel()
	if err := west.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	if _, err := tbl.AddEntity(pctx, entity("orphan"), nil); err == nil {
		t.Fatal("an insert acknowledged with the only standby down")
	}
}

// syncPair starts east, primary with app in sync mode, and west, its
// secondary, and waits until west acts as one.
func syncPair(t *testing.T, app testApp) (east, west *testRegion) {
	t.Helper()
	east = startRegion(t, func(o *Options) {
		o.LeafListen = "127.0.0.1:0"
		o.Peers, o.SyncApps = []string{"west"}, []string{app.name}
	}, app)
	west = startRegion(t, func(o *Options) {
		o.Name, o.LeafRemotes, o.LeafListen = "west", []string{leafAddr(t, east)}, "127.0.0.1:0"
		o.Role = role.State{Role: role.Secondary, Primary: "east"}
	}, app)
	waitMode(t, west, "secondary")
	return east, west
}
