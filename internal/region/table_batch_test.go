package region

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/role"
)

func batchAction(t *testing.T, kind aztables.TransactionType, rk string, n int, ifMatch azcore.ETag) aztables.TransactionAction {
	t.Helper()
	body, err := json.Marshal(map[string]any{"PartitionKey": "acct", "RowKey": rk, "N": n})
	if err != nil {
		t.Fatal(err)
	}
	a := aztables.TransactionAction{ActionType: kind, Entity: body}
	if ifMatch != "" {
		a.IfMatch = to.Ptr(ifMatch)
	}
	return a
}

// entityN reads entity rk's N and ETag, or false when it is missing.
func entityN(ctx context.Context, t *testing.T, c *aztables.Client, rk string) (float64, azcore.ETag, bool) {
	t.Helper()
	got, err := c.GetEntity(ctx, "acct", rk, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == 404 {
		return 0, "", false
	}
	if err != nil {
		t.Fatalf("get %s: %v", rk, err)
	}
	var m map[string]any
	_ = json.Unmarshal(got.Value, &m)
	n, _ := m["N"].(float64)
	return n, got.ETag, true
}

// TestTableBatchAcrossRegions: an entity group transaction committed in
// the primary reaches the secondary through the table's mirror like
// single writes; one sent to the secondary is refused as single writes
// are (503, Retry-After, X-Tandem-Refused, naming the primary) and lands
// nowhere; after a failover the promoted table takes batches, with the
// ETags written before it still valid, and the old primary reads them
// from its new replica.
func TestTableBatchAcrossRegions(t *testing.T) {
	p := startPair(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	east := tablesClient(t, p.east, connString(t, p.east, "hello-go"))
	if _, err := east.CreateTable(ctx, "Ledger", nil); err != nil {
		t.Fatal(err)
	}
	eastLedger := east.NewClient("Ledger")
	if _, err := eastLedger.SubmitTransaction(ctx, []aztables.TransactionAction{
		batchAction(t, aztables.TransactionTypeAdd, "a", 1, ""),
		batchAction(t, aztables.TransactionTypeAdd, "b", 2, ""),
		batchAction(t, aztables.TransactionTypeInsertReplace, "c", 3, ""),
	}, nil); err != nil {
		t.Fatalf("batch in east: %v", err)
	}
	_, etagA, _ := entityN(ctx, t, eastLedger, "a")

	west := tablesClient(t, p.west, connString(t, p.west, "hello-go"))
	westLedger := west.NewClient("Ledger")
	eventually(t, "the batch in west", func() bool {
		_, _, ok := entityN(ctx, t, westLedger, "c")
		return ok
	})
	for rk, want := range map[string]float64{"a": 1, "b": 2, "c": 3} {
		if n, _, ok := entityN(ctx, t, westLedger, rk); !ok || n != want {
			t.Fatalf("entity %s in west: %v %v, want %v", rk, n, ok, want)
		}
	}

	assertHealthLag(t, p.west, "east") // caught up, lag known
	stats, err := west.GetStatistics(ctx, nil)
	if err != nil || stats.GeoReplication == nil || *stats.GeoReplication.Status != aztables.GeoReplicationStatusLive ||
		stats.GeoReplication.LastSyncTime == nil || time.Since(*stats.GeoReplication.LastSyncTime) > time.Minute {
		t.Fatalf("service stats of the caught-up secondary: %+v, %v", stats.GeoReplication, err)
	}

	_, err = westLedger.SubmitTransaction(ctx, []aztables.TransactionAction{
		batchAction(t, aztables.TransactionTypeAdd, "d", 4, ""),
	}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 503 || !strings.Contains(err.Error(), "east") ||
		re.RawResponse.Header.Get("Retry-After") == "" || re.RawResponse.Header.Get(gateway.RefusedHeader) == "" {
		t.Fatalf("batch sent to the secondary: %v, want 503 naming east with Retry-After and %s", err, gateway.RefusedHeader)
	}
	if _, _, ok := entityN(ctx, t, eastLedger, "d"); ok {
		t.Fatal("the batch refused by west reached east")
	}

	setRole(t, p.east, role.Request{Role: role.Secondary, Epoch: 1, Primary: "west"})
	setRole(t, p.west, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)})
	waitMode(t, p.west, "primary")
	waitMode(t, p.east, "secondary")
	if _, err := westLedger.SubmitTransaction(ctx, []aztables.TransactionAction{
		batchAction(t, aztables.TransactionTypeUpdateMerge, "a", 10, etagA),
		batchAction(t, aztables.TransactionTypeDelete, "b", 0, ""),
		batchAction(t, aztables.TransactionTypeAdd, "e", 5, ""),
	}, nil); err != nil {
		t.Fatalf("batch in the promoted west, with an ETag from east: %v", err)
	}
	eastNow := tablesClient(t, p.east, connString(t, p.east, "hello-go")).NewClient("Ledger")
	eventually(t, "west's batch in east's replica", func() bool {
		_, _, ok := entityN(ctx, t, eastNow, "e")
		return ok
	})
	if n, _, _ := entityN(ctx, t, eastNow, "a"); n != 10 {
		t.Fatalf("entity a in east after west's batch: %v, want 10", n)
	}
	if _, _, ok := entityN(ctx, t, eastNow, "b"); ok {
		t.Fatal("entity b, deleted by west's batch, is still in east")
	}
}
