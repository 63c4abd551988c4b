package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
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

// TestLeafListenerDoesNotAdvertise: a region's leafnode listener does not
// advertise its own address in the INFO it sends a linking region, so a
// link reaches it only by the URL the topology configured (a proxy, a NAT
// address, a drill's fault link) and a link cut there stays cut.
func TestLeafListenerDoesNotAdvertise(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{Region: "east", Dir: t.TempDir(), LeafListen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	vz, err := b.Server().Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(vz.LeafNode.Port)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("read the leafnode INFO: %v", err)
	}
	raw, ok := strings.CutPrefix(strings.TrimSpace(line), "INFO ")
	if !ok {
		t.Fatalf("the leafnode listener sent %q, not an INFO", line)
	}
	var info struct {
		LeafNodeURLs []string `json:"leafnode_urls"`
		Domain       string   `json:"domain"`
	}
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		t.Fatalf("leafnode INFO %q: %v", raw, err)
	}
	if info.Domain != "east" {
		t.Errorf("leafnode INFO domain %q, want east", info.Domain)
	}
	if len(info.LeafNodeURLs) != 0 {
		t.Errorf("the leafnode listener advertises %v to linking regions", info.LeafNodeURLs)
	}
}
