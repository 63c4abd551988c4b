package region

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tandemhq/tandem/internal/testbin"
)

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name string
	url  string
	log  string // its output
	cmd  *exec.Cmd
	// exited is closed once the process has ended and been reaped.
	exited chan struct{}
}

// tail is the end of the node's output.
func (n *natsNode) tail() string {
	b, _ := os.ReadFile(n.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-15, 0):], "\n")
}

// crash kills the node with SIGKILL: no leader step-down, no goodbye to
// its peers or clients, as when a machine dies.
func (n *natsNode) crash(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill nats node %s: %v", n.name, err)
	}
	<-n.exited
}

// startNATSProcesses starts an n-node JetStream cluster of real
// nats-server processes on loopback and returns the nodes and the client
// URL list.
func startNATSProcesses(t *testing.T, n int) ([]*natsNode, string) {
	t.Helper()
	exe := testbin.BuildModule(t, "github.com/nats-io/nats-server/v2", "nats-server")
	var nodes []*natsNode
	var err error
	for attempt := 1; ; attempt++ {
		nodes, err = tryNATSProcesses(t, exe, n)
		if err == nil {
			break
		}
		// A port picked free was taken by another program before the node
		// bound it: pick new ones.
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	urls := make([]string, n)
	for i, node := range nodes {
		urls[i] = node.url
	}
	url := strings.Join(urls, ",")
	if err := waitJetStream(url); err != nil {
		for _, n := range nodes {
			t.Logf("nats node %s output:\n%s", n.name, n.tail())
		}
		t.Fatal(err)
	}
	return nodes, url
}

// tryNATSProcesses starts n nodes on ports free a moment ago; on an error
// the nodes it started are stopped.
func tryNATSProcesses(t *testing.T, exe string, n int) ([]*natsNode, error) {
	t.Helper()
	client, cluster := freePorts(t, n), freePorts(t, n)
	routes := make([]string, n)
	for i := range routes {
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cluster[i])
	}
	var nodes []*natsNode
	for i := 0; i < n; i++ {
		node, err := startNATSProcess(t, exe, fmt.Sprintf("n%d", i), client[i], cluster[i], strings.Join(routes, ","))
		if err != nil {
			for _, started := range nodes {
				started.crash(t)
			}
			return nil, err
		}
		nodes = append(nodes, node)
	}
	return nodes, nil
}

func startNATSProcess(t *testing.T, exe, name string, port, clusterPort int, routes string) (*natsNode, error) {
	t.Helper()
	cmd := exec.Command(exe, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-n", name, "-js",
		"-sd", filepath.Join(t.TempDir(), name), "--cluster_name", "tandem-test",
		"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", clusterPort), "--routes", routes)
	node := &natsNode{name: name, url: fmt.Sprintf("nats://127.0.0.1:%d", port), log: filepath.Join(t.TempDir(), name+".log"), cmd: cmd}
	out, err := os.Create(node.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats node %s: %v", name, err)
	}
	t.Cleanup(func() {
		select {
		case <-node.exited:
		default:
			_ = cmd.Process.Kill()
			<-node.exited
		}
	})
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reaped here; crash waits on exited
	node.exited = exited
	var died bool
	eventually(t, "nats node "+name+" accepting clients", func() bool {
		select {
		case <-exited:
			died = true
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if died {
		return nil, fmt.Errorf("nats node %s exited at start:\n%s", name, node.tail())
	}
	return node, nil
}

// freePorts returns n ports that were free a moment ago (the server
// processes take them right after).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// waitJetStream waits until the cluster has formed and elected a JetStream
// meta leader. Forming takes routes between all nodes and then a raft
// election (4 to 9 s of election timeout, a second round on a split vote),
// so it has a deadline of its own, well above the test's usual 15 s.
func waitJetStream(url string) error {
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("wait for jetstream: %w", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no JetStream meta leader within a minute: %w", err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// streamLeader names the node that leads the stream whose subjects include
// subject, once the stream has a leader.
func streamLeader(t *testing.T, url, subject string) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var leader string
	eventually(t, "a leader of the stream of "+subject, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		name, err := js.StreamNameBySubject(ctx, subject)
		if err != nil {
			return false
		}
		st, err := js.Stream(ctx, name)
		if err != nil || st.CachedInfo().Cluster == nil {
			return false
		}
		leader = st.CachedInfo().Cluster.Leader
		return leader != ""
	})
	return leader
}
