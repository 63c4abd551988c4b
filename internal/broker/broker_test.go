package broker

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestEmbeddedKeepsDataAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := startBroker(ctx, t, dir)
	kv, err := b.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b.Name("test", "kv")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	b.Shutdown()
	b.Shutdown() // safe twice

	b = startBroker(ctx, t, dir)
	defer b.Shutdown()
	kv, err = b.JetStream().KeyValue(ctx, "east_test_kv")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value()) != "v" {
		t.Fatalf("after restart: %v %v", e, err)
	}
}

func TestNamesStayInRegionNamespace(t *testing.T) {
	if got := Name("east", "Q", "app", "orders"); got != "east_Q_app_orders" {
		t.Fatal(got)
	}
	if got := Subject("west", "q", "app", "orders"); got != "tandem.west.q.app.orders" {
		t.Fatal(got)
	}
	for _, bad := range []string{"", "a.b", "a_b", "-x", "toolongtoolongtoolongtoolongtoolong"} {
		if ValidRegion(bad) == nil {
			t.Errorf("region %q accepted", bad)
		}
	}
}

func startBroker(ctx context.Context, t *testing.T, dir string) *Broker {
	t.Helper()
	b, err := Start(ctx, Options{Region: "east", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
