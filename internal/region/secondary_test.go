package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/role"
)

// pair is a primary east and a secondary west mirroring it, both serving
// the hello-go example.
type pair struct {
	east, west *testRegion
	eastKey    string // east's default function key
	westKey    string // west's
}

func startPair(t *testing.T, settings map[string]string) *pair {
	t.Helper()
	dir := exampleApp(t, "hello-go", settings)
	east := startRegion(t, func(o *Options) { o.LeafListen = "127.0.0.1:0"; o.Apps = []AppSpec{{Dir: dir}} })
	leaf := leafAddr(t, east)
	west := startRegion(t, func(o *Options) {
		o.Name, o.LeafRemotes, o.Apps = "west", []string{leaf}, []AppSpec{{Dir: dir}}
		o.LeafListen = "127.0.0.1:0"
		o.Role = role.State{Role: role.Secondary, Primary: "east"}
	})
	p := &pair{east: east, west: west}
	p.eastKey = east.keyValue("/admin/host/functionkeys", "default")
	p.westKey = west.keyValue("/admin/host/functionkeys", "default")
	return p
}

// orderAcked posts an order to the primary and returns once its row is
// readable there, with the time it was first seen (the acknowledgement
// the secondary's reads are measured against).
func orderAcked(t *testing.T, primary *testRegion, key, id string) time.Time {
	t.Helper()
	if r := primary.do("POST", "/api/orders/"+id, key, "order "+id); r.code != 202 {
		t.Fatalf("POST order %s to %s: %d %s", id, primary.opts.Name, r.code, r.body)
	}
	return processedAt(t, primary, key, id)
}

// processedAt polls the primary until order id is readable there and
// returns when that answer arrived: the row was stored before it.
func processedAt(t *testing.T, primary *testRegion, key, id string) time.Time {
	t.Helper()
	var seen time.Time
	eventually(t, "order "+id+" processed in "+primary.opts.Name, func() bool {
		ok := primary.do("GET", "/api/orders/"+id, key, "").code == 200
		seen = time.Now()
		return ok
	})
	return seen
}

// readConsistently polls GET /api/orders/<id> on the secondary until it
// answers the row. Every answer must carry the replica headers, and a 404
// is allowed only while the reported lag could hide a write acknowledged
// at acked: an answer at t with lag L must show the row when t-L > acked.
func readConsistently(t *testing.T, secondary *testRegion, key, id, primary string, acked time.Time) map[string]any {
	t.Helper()
	var row map[string]any
	eventually(t, "order "+id+" readable in "+secondary.opts.Name, func() bool {
		r := secondary.do("GET", "/api/orders/"+id, key, "")
		at := time.Now()
		if got := r.header.Get(HeaderReplicaOf); got != primary {
			t.Fatalf("%s: %s = %q, want %q", secondary.opts.Name, HeaderReplicaOf, got, primary)
		}
		lag, err := time.ParseDuration(r.header.Get(HeaderReplicaLag))
		if r.code == 200 {
			row = r.json(t)
			return true
		}
		if r.code != 404 {
			t.Fatalf("GET order %s in %s: %d %s", id, secondary.opts.Name, r.code, r.body)
		}
		if err == nil && at.Add(-lag).After(acked) {
			t.Fatalf("order %s acknowledged at %s missing in %s at %s although its lag is %s",
				id, acked.Format(time.StampMicro), secondary.opts.Name, at.Format(time.StampMicro), lag)
		}
		return false
	})
	if row["Status"] != "processed" || row["RowKey"] != id {
		t.Fatalf("order %s in %s: %v", id, secondary.opts.Name, row)
	}
	return row
}

// wantRefused checks a 503 refusal naming the primary, with Retry-After,
// marked as refused before anything ran (the traffic manager's proxy then
// sends it to the primary whatever its method).
func wantRefused(t *testing.T, what string, r response, primary string) {
	t.Helper()
	if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), primary) ||
		r.header.Get(gateway.RefusedHeader) == "" || r.header.Get(gateway.PrimaryHeader) != primary {
		t.Fatalf("%s: %d %v %s, want 503 with Retry-After, %s and %s naming %s", what, r.code, r.header, r.body, gateway.RefusedHeader, gateway.PrimaryHeader, primary)
	}
}

func tablesClient(t *testing.T, tr *testRegion, connStr string) *aztables.ServiceClient {
	t.Helper()
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	c, err := aztables.NewServiceClientFromConnectionString(connStr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connString is the app's storage connection string pointing at tr; in a
// secondary it waits until the account's mirror has it (503 until then).
func connString(t *testing.T, tr *testRegion, app string) string {
	t.Helper()
	var info struct {
		ConnectionString string `json:"connectionString"`
	}
	eventually(t, "storage account of "+app+" in "+tr.opts.Name, func() bool {
		r := tr.admin("GET", "/admin/apps/"+app+"/storage", "")
		if r.code == http.StatusServiceUnavailable {
			return false
		}
		if err := json.Unmarshal(r.body, &info); err != nil || r.code != 200 {
			t.Fatalf("storage of %s in %s: %d %s", app, tr.opts.Name, r.code, r.body)
		}
		return true
	})
	return info.ConnectionString
}

// TestSecondaryServesReadsAndRefusesWrites: west, mirroring east, answers
// a function's table input binding, the Table REST API (aztables SDK) and
// the admin API from its replica, with its lag in headers and /healthz;
// every write reaching it (a queue output binding, an SDK insert, an
// admin enqueue) is refused with 503, Retry-After and east's name, and
// lands nowhere.
func TestSecondaryServesReadsAndRefusesWrites(t *testing.T) {
	p := startPair(t, nil)
	acked := orderAcked(t, p.east, p.eastKey, "7")
	row := readConsistently(t, p.west, p.westKey, "7", "east", acked)
	if row["Body"] != "order 7" {
		t.Fatalf("row in west: %v", row)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	assertHealthLag(t, p.west, "east") // caught up: every table and account is in
	sdk := tablesClient(t, p.west, connString(t, p.west, "hello-go"))
	assertSDKReads(ctx, t, sdk, "7", 1)
	assertSDKWriteRefused(ctx, t, sdk, "east")
	if r := p.east.admin("GET", "/admin/apps/hello-go/tables/Orders/entities/orders/sdk-1", ""); r.code != 404 {
		t.Fatalf("the refused SDK insert reached east: %d %s", r.code, r.body)
	}

	wantRefused(t, "POST /api/orders/8 to west", p.west.do("POST", "/api/orders/8", p.westKey, "eight"), "east")
	if n := p.west.Meter().Report().Apps["hello-go"].Functions["items"].Executions; n != 0 {
		t.Fatalf("west ran the writer function %d times; it must refuse it before it runs", n)
	}
	wantRefused(t, "admin enqueue to west", p.west.admin("POST", "/admin/apps/hello-go/queues/orders/messages", "x"), "east")
	if r := p.east.do("GET", "/api/orders/8", p.eastKey, ""); r.code != 404 {
		t.Fatalf("order 8, refused by west, is in east: %d %s", r.code, r.body)
	}
	if n := queueLen(t, p.east, "hello-go", "orders"); n != 0 {
		t.Fatalf("east's orders queue holds %d after west refused its writes", n)
	}
	if r := p.east.do("GET", "/api/orders/7", p.eastKey, ""); r.header.Get(HeaderReplicaOf) != "" {
		t.Fatalf("the primary marks its answers as a replica's: %v", r.header)
	}
	assertDeleteReplicated(ctx, t, p, sdk)
}

// assertDeleteReplicated deletes order 7 in east: west's input binding,
// entity get and query stop showing it (the delete marker is honoured).
func assertDeleteReplicated(ctx context.Context, t *testing.T, p *pair, westSDK *aztables.ServiceClient) {
	t.Helper()
	east := tablesClient(t, p.east, connString(t, p.east, "hello-go"))
	if _, err := east.NewClient("Orders").DeleteEntity(ctx, "orders", "7", nil); err != nil {
		t.Fatalf("delete in east: %v", err)
	}
	eventually(t, "the delete reaches west", func() bool { return p.west.do("GET", "/api/orders/7", p.westKey, "").code == 404 })
	_, err := westSDK.NewClient("Orders").GetEntity(ctx, "orders", "7", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("get of a deleted entity in west: %v, want 404", err)
	}
	page, err := westSDK.NewClient("Orders").NewListEntitiesPager(nil).NextPage(ctx)
	if err != nil || len(page.Entities) != 0 {
		t.Fatalf("query in west after the delete: %d entities, %v", len(page.Entities), err)
	}
}

// assertSDKReads: the secondary lists the Orders table, gets order id and
// finds n processed orders by query.
func assertSDKReads(ctx context.Context, t *testing.T, sdk *aztables.ServiceClient, id string, n int) {
	t.Helper()
	var names []string
	pager := sdk.NewListTablesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list tables in the secondary: %v", err)
		}
		for _, tb := range page.Tables {
			names = append(names, *tb.Name)
		}
	}
	if strings.Join(names, ",") != "Orders" {
		t.Fatalf("tables in the secondary: %v, want [Orders]", names)
	}
	tc := sdk.NewClient("Orders")
	got, err := tc.GetEntity(ctx, "orders", id, nil)
	if err != nil {
		t.Fatalf("get entity in the secondary: %v", err)
	}
	var ent map[string]any
	_ = json.Unmarshal(got.Value, &ent)
	if ent["Status"] != "processed" {
		t.Fatalf("entity in the secondary: %s", got.Value)
	}
	filter := "Status eq 'processed'"
	q := tc.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	page, err := q.NextPage(ctx)
	if err != nil || len(page.Entities) != n {
		t.Fatalf("query in the secondary: %d entities, %v; want %d", len(page.Entities), err, n)
	}
}

func assertSDKWriteRefused(ctx context.Context, t *testing.T, sdk *aztables.ServiceClient, primary string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"PartitionKey": "orders", "RowKey": "sdk-1", "Status": "from the SDK"})
	_, err := sdk.NewClient("Orders").AddEntity(ctx, body, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 503 || !strings.Contains(err.Error(), primary) {
		t.Fatalf("SDK insert into the secondary: %v, want 503 naming %s", err, primary)
	}
	if re.RawResponse.Header.Get("Retry-After") == "" || re.RawResponse.Header.Get(gateway.RefusedHeader) == "" {
		t.Fatalf("SDK insert refused without Retry-After: %v", re.RawResponse.Header)
	}
}

// assertHealthLag waits until tr's /healthz reports its replica caught up
// (known lag, no message behind) with primary.
func assertHealthLag(t *testing.T, tr *testRegion, primary string) {
	t.Helper()
	var h Health
	eventually(t, tr.opts.Name+" reports a known lag of 0 messages in /healthz", func() bool {
		r := tr.do("GET", "/healthz", "", "")
		if err := json.Unmarshal(r.body, &h); err != nil {
			t.Fatalf("/healthz: %v: %s", err, r.body)
		}
		return h.Replica != nil && h.Replica.Known && h.Replica.LagMessages == 0
	})
	if h.Replica.Primary != primary || h.Replica.BoundSecs < 0 {
		t.Fatalf("/healthz replica %+v, want one of %s", h.Replica, primary)
	}
}

// setRole sends the witness's POST /admin/role.
func setRole(t *testing.T, tr *testRegion, req role.Request) {
	t.Helper()
	b, _ := json.Marshal(req)
	if r := tr.admin("POST", "/admin/role", string(b)); r.code != 200 {
		t.Fatalf("role %+v for %s: %d %s", req, tr.opts.Name, r.code, r.body)
	}
}

func waitMode(t *testing.T, tr *testRegion, mode string) {
	t.Helper()
	eventually(t, tr.opts.Name+" in mode "+mode, func() bool {
		var st ReplicationStatus
		r := tr.admin("GET", "/admin/replication", "")
		return json.Unmarshal(r.body, &st) == nil && st.Mode == mode && (mode != "secondary" || st.Mirrors != nil && st.Mirrors.Ready)
	})
}

// TestRolesSwapAfterFailover: after a planned switch to west, west takes
// writes (one sent the moment it is named primary is held until it is
// promoted, not refused) and east, now the secondary, serves them from
// its replica and refuses writes naming west.
func TestRolesSwapAfterFailover(t *testing.T) {
	p := startPair(t, nil)
	acked := orderAcked(t, p.east, p.eastKey, "7")
	readConsistently(t, p.west, p.westKey, "7", "east", acked)

	setRole(t, p.east, role.Request{Role: role.Secondary, Epoch: 1, Primary: "west"})
	setRole(t, p.west, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)})
	if r := p.west.do("POST", "/api/orders/9", p.westKey, "order 9"); r.code != 202 {
		t.Fatalf("a write to the new primary during its promotion: %d %s, want it held then accepted", r.code, r.body)
	}
	waitMode(t, p.west, "primary")
	waitMode(t, p.east, "secondary")

	acked9 := processedAt(t, p.west, p.westKey, "9")
	readConsistently(t, p.east, p.eastKey, "9", "west", acked9)
	readConsistently(t, p.east, p.eastKey, "7", "west", acked)
	acked11 := orderAcked(t, p.west, p.westKey, "11")
	readConsistently(t, p.east, p.eastKey, "11", "west", acked11)

	wantRefused(t, "POST /api/orders/10 to east", p.east.do("POST", "/api/orders/10", p.eastKey, "ten"), "west")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	assertHealthLag(t, p.east, "west") // caught up with west
	sdk := tablesClient(t, p.east, connString(t, p.east, "hello-go"))
	assertSDKReads(ctx, t, sdk, "11", 3)
	assertSDKWriteRefused(ctx, t, sdk, "west")
	if r := p.west.do("GET", "/api/orders/10", p.westKey, ""); r.code != 404 {
		t.Fatalf("order 10, refused by east, is in west: %d %s", r.code, r.body)
	}
}

// TestSecondaryQueueLengthAndPeek: west's admin API shows east's queues
// as east does. Orders queued while east's processor is disabled are
// counted and peeked in west, in order; once east processed them they
// are neither, although west's mirror still holds them (deletes are not
// mirrored).
func TestSecondaryQueueLengthAndPeek(t *testing.T) {
	p := startPair(t, map[string]string{"AzureWebJobs.process-order.Disabled": "true"})
	for _, id := range []string{"1", "2", "3"} {
		if r := p.east.do("POST", "/api/orders/"+id, p.eastKey, "order "+id); r.code != 202 {
			t.Fatalf("POST order %s to east: %d %s", id, r.code, r.body)
		}
	}
	if r := p.east.admin("POST", "/admin/apps/hello-go/queues/backlog/messages", "kept"); r.code != 201 {
		t.Fatalf("enqueue in east: %d %s", r.code, r.body)
	}
	eventually(t, "west counts east's pending orders", func() bool { return queueLen(t, p.west, "hello-go", "orders") == 3 })
	got := peekBodies(t, p.west, "orders")
	if len(got) != 3 {
		t.Fatalf("peek of west's orders: %q, want orders 1, 2, 3", got)
	}
	for i, m := range got {
		if want := fmt.Sprintf(`"order %d"`, i+1); !strings.Contains(m, want) {
			t.Fatalf("peek of west's orders: message %d is %s, want %s", i, m, want)
		}
	}
	if r := p.east.admin("DELETE", "/admin/apps/hello-go/settings/AzureWebJobs.process-order.Disabled", ""); r.code/100 != 2 {
		t.Fatalf("enable the processor in east: %d %s", r.code, r.body)
	}
	eventually(t, "east processed every order", func() bool { return queueLen(t, p.east, "hello-go", "orders") == 0 })
	eventually(t, "west no longer counts processed orders", func() bool { return queueLen(t, p.west, "hello-go", "orders") == 0 })
	if got := peekBodies(t, p.west, "orders"); len(got) != 0 {
		t.Fatalf("peek of west's orders shows processed messages: %q", got)
	}
	assertListed(t, p.west, map[string]int{"orders": 0, "backlog": 1})
}

func assertListed(t *testing.T, tr *testRegion, want map[string]int) {
	t.Helper()
	var list struct {
		Queues []struct {
			Name   string `json:"name"`
			Length int    `json:"length"`
		} `json:"queues"`
	}
	r := tr.admin("GET", "/admin/apps/hello-go/queues", "")
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("list in %s: %d %s", tr.opts.Name, r.code, r.body)
	}
	got := map[string]int{}
	for _, q := range list.Queues {
		got[q.Name] = q.Length
	}
	for name, n := range want {
		if l, ok := got[name]; !ok || l != n {
			t.Fatalf("queues listed in %s: %s, want %v among them", tr.opts.Name, r.body, want)
		}
	}
	if r.header.Get(HeaderReplicaOf) == "" {
		t.Fatalf("admin read in %s without replica headers: %v", tr.opts.Name, r.header)
	}
}

func peekBodies(t *testing.T, tr *testRegion, queue string) []string {
	t.Helper()
	r := tr.admin("GET", "/admin/apps/hello-go/queues/"+queue+"/messages?peek=5", "")
	var peek struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.body, &peek); err != nil || r.code != 200 {
		t.Fatalf("peek %s in %s: %d %s", queue, tr.opts.Name, r.code, r.body)
	}
	var out []string
	for _, m := range peek.Messages {
		out = append(out, m.Body)
	}
	return out
}

// TestStandbyHoldsWritesWhilePrimaryIsGone: with east down, west (still
// its secondary) does not refuse a write: it holds it as the standby about
// to be promoted, and runs it once the witness promotes west.
func TestStandbyHoldsWritesWhilePrimaryIsGone(t *testing.T) {
	p := startPair(t, nil)
	acked := orderAcked(t, p.east, p.eastKey, "7")
	readConsistently(t, p.west, p.westKey, "7", "east", acked)
	shutdown(t, p.east)

	answer := make(chan response, 1)
	go func() { answer <- p.west.do("POST", "/api/orders/9", p.westKey, "order 9") }()
	eventually(t, "west holding the write", func() bool {
		var st ReplicationStatus
		r := p.west.admin("GET", "/admin/replication", "")
		return json.Unmarshal(r.body, &st) == nil && st.HeldWrites == 1
	})
	setRole(t, p.west, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Hour)})
	if r := <-answer; r.code != 202 {
		t.Fatalf("write held by the standby: %d %s, want 202 once it is promoted", r.code, r.body)
	}
	eventually(t, "order 9 processed in west", func() bool { return p.west.do("GET", "/api/orders/9", p.westKey, "").code == 200 })
}
