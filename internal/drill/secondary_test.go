package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/tandemhq/tandem/internal/cluster"
	"github.com/tandemhq/tandem/internal/topology"
)

// TestStoryWeightedReadsAndWrites: with `routing: weighted` about half of
// the drill's load reaches the standby. Writes reaching it are refused
// before they run and the proxy sends them on to the primary, so no
// idempotent request fails and nothing is lost; meanwhile a checker writes entities and reads
// them back through the aztables SDK, and every read, whichever region
// answers, shows what was acknowledged up to the lag that answer reports.
// A planned switch there and back swaps the roles under the same checks.
func TestStoryWeightedReadsAndWrites(t *testing.T) {
	c := startDeployment(t, nil)
	useWeightedRouting(t, c)
	chk := newChecker(t, c)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); chk.run(ctx) }()
	rep := runDrill(t, c, Options{Fault: "failover", Cycles: 1})
	stop()
	<-done
	// A POST refused by a secondary is sent on to the primary; one whose
	// handler was already running in the primary when it stepped down is
	// refused at its output (it ran, so it is not resent), as in the
	// planned-switch story.
	noFailed(t, rep, "GET", "PUT")
	noLoss(t, rep)
	chk.report(t)
}

// useWeightedRouting rewrites the deployment file with routing: weighted
// and reloads every traffic manager from it.
func useWeightedRouting(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	b, err := os.ReadFile(c.TopologyFile())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "routing: priority", "routing: weighted", 1)
	if err := os.WriteFile(c.TopologyFile(), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.ReloadTraffic(context.Background(), topology.RoutingWeighted); err != nil {
		t.Fatal(err)
	}
}

func runDrill(t *testing.T, c *cluster.Cluster, o Options) *Report {
	t.Helper()
	o.Topology = c.TopologyFile()
	o.Duration, o.Warmup, o.Settle = 5*time.Second, 2*time.Second, 30*time.Second
	if testing.Verbose() {
		o.Progress = os.Stdout
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(testWriter{t})
	return rep
}

// checker writes entities through the public address and reads them back
// through the aztables SDK, judging each answer against its replica lag.
type checker struct {
	t      *testing.T
	public string
	tables *aztables.Client

	mu         sync.Mutex
	acked      []ack
	writes     int
	writeFails []string
	reads      map[string]int // "primary", "replica", "replica-unknown-lag"
	misses     int            // 404s a reported lag allowed
	violations []string
	maxLag     time.Duration
}

type ack struct {
	id string
	at time.Time // when the PUT's 201 arrived
}

func newChecker(t *testing.T, c *cluster.Cluster) *checker {
	t.Helper()
	key := accountKey(t, c.Region(c.Primary()))
	conn := "DefaultEndpointsProtocol=http;AccountName=" + App + ";AccountKey=" + key + ";TableEndpoint=" + c.URL() + "/tables/" + App + ";"
	opts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	svc, err := aztables.NewServiceClientFromConnectionString(conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &checker{t: t, public: c.URL(), tables: svc.NewClient("Entities"), reads: map[string]int{}}
}

// accountKey reads the drill app's storage account key from a region.
func accountKey(t *testing.T, r *cluster.Region) string {
	t.Helper()
	master, err := r.MasterKey()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, r.URL()+"/admin/apps/"+App+"/storage", nil)
	req.Header.Set("x-functions-key", master)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Key string `json:"key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.Key == "" {
		t.Fatalf("storage account of %s in %s: %d %v", App, r.Name, resp.StatusCode, err)
	}
	return info.Key
}

// run writes one entity and reads it and an older one back, every 20 ms.
func (c *checker) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if a, ok := c.write(ctx, fmt.Sprintf("c%06d", i)); ok {
			c.read(ctx, a)
		}
		if n := len(c.acked); n > 1 {
			c.read(ctx, c.acked[i%n])
		}
	}
}

func (c *checker) write(ctx context.Context, id string) (ack, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.public+"/api/entity/"+id, nil)
	req.Host = App + ".localhost"
	resp, err := http.DefaultClient.Do(req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if err != nil {
		if ctx.Err() == nil {
			c.writeFails = append(c.writeFails, id+": "+err.Error())
		}
		return ack{}, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		c.writeFails = append(c.writeFails, fmt.Sprintf("%s: %d %s", id, resp.StatusCode, body))
		return ack{}, false
	}
	a := ack{id: id, at: time.Now()}
	c.acked = append(c.acked, a)
	return a, true
}

// read gets an acknowledged entity and judges the answer: found; missing
// in a replica whose reported lag covers the write; anything else is a
// violation.
func (c *checker) read(ctx context.Context, a ack) {
	var resp *http.Response
	_, err := c.tables.GetEntity(policy.WithCaptureResponse(ctx, &resp), "e", a.id, nil)
	at := time.Now()
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if resp == nil {
		c.violations = append(c.violations, fmt.Sprintf("%s: no answer: %v", a.id, err))
		return
	}
	replica := resp.Header.Get("X-Tandem-Replica-Of") != ""
	lag, lagErr := time.ParseDuration(resp.Header.Get("X-Tandem-Replica-Lag"))
	switch {
	case !replica:
		c.reads["primary"]++
	case lagErr != nil:
		c.reads["replica-unknown-lag"]++
	default:
		c.reads["replica"]++
		c.maxLag = max(c.maxLag, lag)
	}
	c.judge(a, err, at, replica, lag, lagErr, resp.Header)
}

func (c *checker) judge(a ack, err error, at time.Time, replica bool, lag time.Duration, lagErr error, h http.Header) {
	if err == nil {
		return
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		c.violations = append(c.violations, fmt.Sprintf("%s: %v", a.id, err))
		return
	}
	if replica && (lagErr != nil || !at.Add(-lag).After(a.at)) {
		c.misses++ // not yet in the replica, as its lag says it may be
		return
	}
	c.violations = append(c.violations, fmt.Sprintf("%s acknowledged at %s missing at %s (%s, replica of %q, lag %s, %s messages behind)",
		a.id, a.at.Format(time.StampMicro), at.Format(time.StampMicro), re.ErrorCode, h.Get("X-Tandem-Replica-Of"), lag, h.Get("X-Tandem-Replica-Lag-Messages")))
}

func (c *checker) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Logf("checker: %d writes (%d acknowledged), reads %v, %d misses within the reported lag, max lag %s",
		c.writes, len(c.acked), c.reads, c.misses, c.maxLag)
	if len(c.writeFails) > 0 {
		t.Errorf("%d checker writes failed: %v", len(c.writeFails), c.writeFails[:min(5, len(c.writeFails))])
	}
	if len(c.violations) > 0 {
		t.Errorf("%d reads inconsistent with what was acknowledged: %v", len(c.violations), c.violations[:min(5, len(c.violations))])
	}
	if c.reads["primary"] == 0 || c.reads["replica"] == 0 {
		t.Errorf("weighted routing did not spread reads over both regions: %v", c.reads)
	}
}
