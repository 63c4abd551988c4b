package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/tandemhq/tandem/internal/testbin"
)

// blobTriggerApp writes the app "blobs", served by the echo test handler:
// fast (a blobTrigger on now/{name}) and held (on later/{name}) each write
// one row per run to the table Runs (PartitionKey = the blob's name,
// RowKey a fresh guid); held's runs wait while the file hold exists. One
// run at a time per function (batchSize 1), so a version seen done means
// every version the watch delivered before it was handled.
func blobTriggerApp(t *testing.T, hold string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	exe := testbin.Build(t, "testdata/handlers/echo")
	fn := func(container string) string {
		return `{"bindings":[{"type":"blobTrigger","direction":"in","name":"in","path":"` + container + `/{name}"},` +
			`{"type":"table","direction":"out","name":"run","tableName":"Runs","partitionKey":"{name}","rowKey":"{rand-guid}"}]}`
	}
	settings, _ := json.Marshal(map[string]any{"IsEncrypted": false, "Values": map[string]string{
		"REPLY_fast":     `{"Outputs":{"run":{"Fn":"fast"}}}`,
		"REPLY_held":     `{"Outputs":{"run":{"Fn":"held"}}}`,
		"ECHO_HOLD_held": hold,
	}})
	files := map[string]string{
		"host.json": `{"version":"2.0","functionTimeout":"00:03:00","customHandler":{"description":{"defaultExecutablePath":"` + exe + `"}},` +
			`"extensions":{"queues":{"batchSize":1}}}`,
		"fast/function.json":  fn("now"),
		"held/function.json":  fn("later"),
		"local.settings.json": string(settings),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBlobTriggerOnceThroughKillAndFailback: blobs written with the azblob
// SDK through the public address (async mode: with two regions a
// sync-mode survivor's writes wait for the dead peer until it is back). now/a1..a3 ran
// in east (their rows and receipts in west) and later/b1..b3 had not
// (held's handler waits) when east is killed with kill -9. West, promoted,
// runs b1..b3 once each and a1..a3 not again; a blob written in west runs
// once. East comes back, the drill fails back to it, and new blobs run
// there while nothing of before runs a second time: every version ran
// exactly once in all.
func TestBlobTriggerOnceThroughKillAndFailback(t *testing.T) {
	hold := filepath.Join(t.TempDir(), "hold")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Binary: testbin.Build(t, "cmd/tandem"), Dir: t.TempDir(), Apps: []string{blobTriggerApp(t, hold)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	east, west := c.Region("east"), c.Region("west")
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("BLOBTEST_DUMP") != "" {
			_ = syscall.Kill(west.PID(), syscall.SIGQUIT)
			_ = poll(context.Background(), 5*time.Second, "dump", func() bool { return west.hasExited() })
		}
		if t.Failed() {
			for _, r := range []*Region{east, west} {
				b, _ := os.ReadFile(filepath.Join(r.DataDir, "region.log"))
				t.Logf("%s region log:\n%s", r.Name, b)
			}
		}
	})
	conn := storageConnString(t, east, "blobs")
	blobs, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs := tables.NewClient("Runs")
	count := func() map[string]int {
		n := map[string]int{}
		pager := runs.NewListEntitiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil // the primary may be changing: read again
			}
			for _, e := range page.Entities {
				var row struct{ PartitionKey string }
				if json.Unmarshal(e, &row) == nil {
					n[row.PartitionKey]++
				}
			}
		}
		return n
	}
	put := func(container, name string) {
		t.Helper()
		if _, err := blobs.UploadBuffer(ctx, container, name, []byte("blob "+name), nil); err != nil {
			t.Fatalf("upload %s/%s: %v", container, name, err)
		}
	}
	ranOnce := func(what string, limit time.Duration, names ...string) {
		t.Helper()
		var got map[string]int
		eventually(t, what, limit, func() bool {
			if got = count(); got == nil {
				return false
			}
			for _, n := range names {
				if got[n] != 1 {
					return false
				}
			}
			return true
		})
	}
	// exactlyOnce: every version written so far ran once, none twice.
	exactlyOnce := func(when string, names ...string) {
		t.Helper()
		got := count()
		for _, n := range names {
			if got[n] != 1 {
				t.Errorf("%s: %s ran %d times, want once (runs %v)", when, n, got[n], got)
			}
		}
		if len(got) != len(names) {
			t.Errorf("%s: runs %v, want one for each of %v", when, got, names)
		}
	}
	for _, container := range []string{"now", "later"} {
		if _, err := blobs.CreateContainer(ctx, container, nil); err != nil {
			t.Fatal(err)
		}
	}

	for _, n := range []string{"a1", "a2", "a3"} {
		put("now", n)
	}
	ranOnce("a1..a3 to run in east", 30*time.Second, "a1", "a2", "a3")
	// Their done receipts are in west: each run wrote a claim and a done
	// (6 writes to the receipts bucket), and west's mirror holds them all.
	eventually(t, "west to hold east's 6 receipt writes", 30*time.Second, func() bool {
		return mirrorHolds(t, west, "KV_east_blobreceipts", 6)
	})
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b1", "b2", "b3"} {
		put("later", n)
	}
	// West holds them: the container record and, per blob, a data chunk,
	// its meta and the blob record (10 messages).
	eventually(t, "west to hold b1..b3", 30*time.Second, func() bool { return mirrorHolds(t, west, "OBJ_east_B_blobs_later", 10) })

	if err := c.KillRegion("east"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	eventually(t, "west to be primary", time.Minute, func() bool { return c.Primary() == "west" })
	ranOnce("b1..b3 to run in west", time.Minute, "b1", "b2", "b3")
	put("now", "a4")
	ranOnce("a4 to run in west", 30*time.Second, "a4")
	exactlyOnce("after the failover", "a1", "a2", "a3", "a4", "b1", "b2", "b3")

	if err := c.StartRegion(ctx, "east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "east back as a healthy secondary", time.Minute, func() bool { return confirmedRole(c, "east") == "secondary" })
	if err := c.Failover(ctx, "east", true); err != nil {
		t.Fatalf("failback to east: %v", err)
	}
	eventually(t, "east to be primary again", time.Minute, func() bool { return c.Primary() == "east" && confirmedRole(c, "east") == "primary" })
	put("now", "a5")
	put("later", "b4")
	ranOnce("a5 and b4 to run in east", 30*time.Second, "a5", "b4")
	exactlyOnce("after the failback", "a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4")
}

// storageConnString is app's storage connection string (naming the
// public address) from r's admin API.
func storageConnString(t *testing.T, r *Region, app string) string {
	t.Helper()
	key := masterKey(t, r)
	code, body := adminCall(t, http.MethodGet, r.DirectURL()+"/admin/apps/"+app+"/storage", key)
	var si struct {
		ConnectionString string `json:"connectionString"`
	}
	if code != 200 || json.Unmarshal(body, &si) != nil || si.ConnectionString == "" {
		t.Fatalf("storage of %s: %d %s", app, code, body)
	}
	return si.ConnectionString
}

// mirrorHolds reports whether r's mirror of origin holds its first n
// messages and had no lag at its last poll.
func mirrorHolds(t *testing.T, r *Region, origin string, n uint64) bool {
	key, err := r.MasterKey()
	if err != nil {
		return false
	}
	code, body := adminCall(t, http.MethodGet, r.DirectURL()+"/admin/replication", key)
	var st struct {
		Mirrors *struct {
			Mirrors []struct {
				Origin      string `json:"origin"`
				LastSeq     uint64 `json:"lastSeq"`
				LagMessages uint64 `json:"lagMessages"`
			} `json:"mirrors"`
		} `json:"mirrors"`
	}
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Mirrors == nil {
		return false
	}
	for _, m := range st.Mirrors.Mirrors {
		if m.Origin == origin {
			return m.LastSeq >= n && m.LagMessages == 0
		}
	}
	return false
}
