package region

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATSCluster starts an n-node JetStream cluster on loopback and
// returns its servers and client URL list.
func startNATSCluster(t *testing.T, n int) ([]*server.Server, string) {
	t.Helper()
	routes := make([]string, n)
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i])
	}
	var servers []*server.Server
	var urls []string
	for i := 0; i < n; i++ {
		opts := &server.Options{ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
			Cluster: server.ClusterOpts{Name: "tandem-test", Host: "127.0.0.1", Port: ports[i]}, Routes: server.RoutesFromStr(strings.Join(routes, ","))}
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats node %d not ready", i)
		}
		t.Cleanup(ns.Shutdown)
		servers = append(servers, ns)
		urls = append(urls, ns.ClientURL())
	}
	url := strings.Join(urls, ",")
	waitJetStream(t, url)
	return servers, url
}

func waitJetStream(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	eventually(t, "a JetStream meta leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
}

// TestTwoNodesOnExternalCluster: two nodes of region east share a 3-node
// NATS cluster. Every queue message is processed once across the nodes,
// every timer tick fires once, and killing a NATS node loses no
// acknowledged message.
func TestTwoNodesOnExternalCluster(t *testing.T) {
	servers, url := startNATSCluster(t, 3)
	app := testApp{name: "work", queues: map[string]any{"messageEncoding": "none"},
		functions: map[string]string{
			"proc": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"job","queueName":"jobs"}]}`,
			"tick": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"*/1 * * * * *"},` +
				`{"type":"queue","direction":"out","name":"out","queueName":"ticks"}]}`,
		},
		settings: map[string]string{"REPLY_proc": `{"Outputs":{}}`, "REPLY_tick": `{"Outputs":{"out":$PAYLOAD}}`}}
	node := func() *testRegion {
		return startRegion(t, func(o *Options) { o.NATSURL = url; o.Replicas = 3 }, app)
	}
	a, b := node(), node()
	processed := func() uint64 {
		return a.Meter().Report().Apps["work"].Functions["proc"].Executions + b.Meter().Report().Apps["work"].Functions["proc"].Executions
	}
	enqueue(t, a, 100)
	enqueue(t, b, 100)
	eventually(t, "200 jobs processed", func() bool { return processed() >= 200 && queueLen(t, a, "work", "jobs") == 0 })

	servers[2].Shutdown() // a NATS node dies; R3 streams keep quorum
	enqueue(t, a, 50)
	enqueue(t, b, 50)
	eventually(t, "300 jobs processed", func() bool { return processed() >= 300 && queueLen(t, a, "work", "jobs") == 0 })
	if n := processed(); n != 300 {
		t.Fatalf("%d invocations for 300 jobs: duplicates across nodes", n)
	}
	assertTicksOnce(t, a)
}

func enqueue(t *testing.T, tr *testRegion, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		r := tr.admin("POST", "/admin/apps/work/queues/jobs/messages", fmt.Sprintf(`{"job":%d}`, i))
		if r.code/100 != 2 {
			t.Fatalf("enqueue: %d %s", r.code, r.body)
		}
	}
}

// assertTicksOnce reads the ticks the timer wrote and checks that no due
// time appears twice (a tick fired by both nodes would).
func assertTicksOnce(t *testing.T, tr *testRegion) {
	t.Helper()
	var page struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	eventually(t, "three ticks", func() bool {
		r := tr.admin("GET", "/admin/apps/work/queues/ticks/messages?peek=32", "")
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatalf("peek: %d %s", r.code, r.body)
		}
		return len(page.Messages) >= 3
	})
	seen := map[string]bool{}
	for _, m := range page.Messages {
		// useMonitor is off for sub-minute schedules (ScheduleStatus is
		// null), so a tick is named by its fire time rounded to the second.
		var tick struct {
			Payload struct {
				Metadata struct {
					Sys struct{ UtcNow time.Time } `json:"sys"`
				}
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(m.Body), &tick); err != nil {
			t.Fatalf("tick message %q: %v", m.Body, err)
		}
		due := tick.Payload.Metadata.Sys.UtcNow.Round(time.Second).String()
		if tick.Payload.Metadata.Sys.UtcNow.IsZero() {
			t.Fatalf("tick without a time: %s", m.Body)
		}
		if seen[due] {
			t.Fatalf("tick due %s fired twice", due)
		}
		seen[due] = true
	}
}
