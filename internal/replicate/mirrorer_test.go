package replicate

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/table"
)

// seedPrimary creates, through the real services, a queue with messages,
// a table with an entity (so its bucket, the catalog and the account),
// and the timer buckets, one replicated and one region-local.
func seedPrimary(t *testing.T, east *region) {
	t.Helper()
	ctx := testCtx(t)
	q := newQueues(t, east.b, nil)
	for _, body := range []string{"a", "b", "c"} {
		if _, err := q.Enqueue(ctx, "app", "orders", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	tb := newTables(t, east.b)
	if _, err := tb.EnsureAccount(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := tb.CreateTable(ctx, "app", "Customers"); err != nil {
		t.Fatal(err)
	}
	e := table.Entity{PartitionKey: "p", RowKey: "r", Properties: map[string]table.Value{"Name": table.String("Ada")}}
	if _, err := tb.Insert(ctx, "app", "Customers", e); err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{TimerBucket("east"), broker.Name("east", "timerlease"), broker.Name("east", "role")} {
		kv, err := east.b.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.PutString(ctx, "app.tick", "{}"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMirrorsFollowPrimary(t *testing.T) {
	east, west := startPair(t)
	seedPrimary(t, east)
	reg := prometheus.NewRegistry()
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east", Registerer: reg})
	waitFor(t, "mirrorer ready", m.Ready)

	// A queue created after start is mirrored too (advisory or poll).
	q := newQueues(t, east.b, nil)
	if _, err := q.Enqueue(testCtx(t), "app", "late", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "six mirrors caught up", func() bool { return caughtUp(m.Status(), 6) })

	got := streamNames(t, west.b.JetStream())
	for _, want := range []string{"west_Q_app_orders", "west_Q_app_late", "KV_west_T_app_customers", "KV_west_TC", "KV_west_TA", "KV_west_timers"} {
		info := got[want]
		if info == nil || !isMirrorOf(info.Config, rename(want, "west", "east"), "east") {
			t.Errorf("%s: missing or not a mirror of east", want)
		}
	}
	for _, never := range []string{"KV_west_timerlease", "KV_west_role"} {
		if got[never] != nil {
			t.Errorf("%s mirrored: region-local state must not be", never)
		}
	}
	if info := got["west_Q_app_orders"]; info.State.Msgs != 3 || info.Config.Retention != jetstream.WorkQueuePolicy {
		t.Errorf("queue mirror: %d messages, retention %v", info.State.Msgs, info.Config.Retention)
	}
	checkGauges(t, reg, "west_Q_app_orders")
}

func checkGauges(t *testing.T, reg *prometheus.Registry, stream string) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"tandem_replication_lag_messages": 0, "tandem_replication_mirror_healthy": 1, "tandem_replication_lag_seconds": 0}
	for _, f := range families {
		w, ok := want[f.GetName()]
		if !ok {
			continue
		}
		if v, found := gaugeFor(f, stream); !found || v != w {
			t.Errorf("%s{stream=%s} = %v (found %v), want %v", f.GetName(), stream, v, found, w)
		}
		delete(want, f.GetName())
	}
	if len(want) > 0 {
		t.Errorf("gauges not exported: %v", want)
	}
}

func gaugeFor(f *dto.MetricFamily, stream string) (float64, bool) {
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "stream" && l.GetValue() == stream {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestEmptyLocalStreamInTheWayIsReplacedButDataIsNot(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	qe := newQueues(t, east.b, nil)
	for _, name := range []string{"empty", "full"} {
		if _, err := qe.Enqueue(ctx, "app", name, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// The secondary's own queue service declared both before replication
	// started; one of them even got a message.
	qw := newQueues(t, west.b, nil)
	if err := qw.Declare(ctx, "app", "empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := qw.Enqueue(ctx, "app", "full", []byte("local")); err != nil {
		t.Fatal(err)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "the empty stream replaced by a mirror", func() bool {
		info := streamNames(t, west.b.JetStream())["west_Q_app_empty"]
		return info != nil && info.Config.Mirror != nil
	})
	waitFor(t, "the conflict reported", func() bool {
		for _, e := range m.Status().Errors {
			if strings.Contains(e, "west_Q_app_full") && strings.Contains(e, "in the way") {
				return true
			}
		}
		return false
	})
	if m.Ready() {
		t.Error("ready with a stream not mirrored")
	}
	if n := streamNames(t, west.b.JetStream())["west_Q_app_full"].State.Msgs; n != 1 {
		t.Errorf("local data touched: %d messages", n)
	}
}

func TestMirrorOfDeletedTableIsDeleted(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	tb := newTables(t, east.b)
	if err := tb.CreateTable(ctx, "app", "Gone"); err != nil {
		t.Fatal(err)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "ready", m.Ready)
	if streamNames(t, west.b.JetStream())["KV_west_T_app_gone"] == nil {
		t.Fatal("table not mirrored")
	}
	if err := tb.DeleteTable(ctx, "app", "Gone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mirror deleted with its origin", func() bool {
		return streamNames(t, west.b.JetStream())["KV_west_T_app_gone"] == nil
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	east := startRegion(t, "east", t.TempDir(), false)
	tests := []struct {
		name string
		opts Options
	}{
		{"no broker", Options{Primary: "west"}},
		{"bad primary", Options{Broker: east.b, Primary: "a_b"}},
		{"itself", Options{Broker: east.b, Primary: "east"}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	m, err := New(Options{Broker: east.b, Primary: "west", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal("second shutdown:", err)
	}
}

func TestDeletedMirrorIsRecreated(t *testing.T) {
	east, west := startPair(t)
	q := newQueues(t, east.b, nil)
	for i := 0; i < 3; i++ {
		if _, err := q.Enqueue(testCtx(t), "app", "orders", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "caught up", func() bool { return caughtUp(m.Status(), 1) })
	if err := west.b.JetStream().DeleteStream(testCtx(t), "west_Q_app_orders"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "mirror re-created with every message", func() bool {
		info := streamNames(t, west.b.JetStream())["west_Q_app_orders"]
		return info != nil && info.State.Msgs == 3 && caughtUp(m.Status(), 1)
	})
}

// TestGuardsKeepMirrorsMirrors: services in the secondary that declare or
// open mirrored names (CreateOrUpdateStream/KeyValue) or write to them get
// errors, and every mirror stays a mirror; Promote removes the guards.
func TestGuardsKeepMirrorsMirrors(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	if err := newTables(t, east.b).CreateTable(ctx, "app", "Customers"); err != nil {
		t.Fatal(err)
	}
	if _, err := newQueues(t, east.b, nil).Enqueue(ctx, "app", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "ready", m.Ready)

	tw, qw := newTables(t, west.b), newQueues(t, west.b, nil)
	waitFor(t, "the secondary reads its catalog's mirror", func() bool {
		names, err := tw.ListTables(ctx, "app")
		return err == nil && len(names) == 1 && names[0] == "Customers"
	})
	if err := tw.CreateTable(ctx, "app", "Other"); err == nil {
		t.Error("table created over the catalog mirror in the secondary")
	}
	if err := qw.Declare(ctx, "app", "orders"); err == nil {
		t.Error("queue declared over its mirror in the secondary")
	}
	if _, err := west.b.JetStream().Publish(ctx, "tandem.west.q.app.orders", []byte("x")); err == nil {
		t.Error("publish to a mirrored queue's future subject was stored")
	}
	for name, info := range streamNames(t, west.b.JetStream()) {
		if _, ok := classify("west", name); ok && info.Config.Mirror == nil {
			t.Errorf("%s is no longer a mirror", name)
		}
	}
	if _, err := m.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := newTables(t, west.b).ListTables(ctx, "app"); err != nil {
		t.Errorf("tables after promotion: %v", err)
	}
	for name := range streamNames(t, west.b.JetStream()) {
		if strings.HasPrefix(name, "west_guard_") {
			t.Errorf("guard %s left after promotion", name)
		}
	}
}
