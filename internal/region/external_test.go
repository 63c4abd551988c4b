package region

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

// TestTwoNodesOnExternalCluster: two nodes of region east share a 3-node
// NATS cluster. Every queue message is processed once across the nodes,
// every timer tick fires once, and killing a NATS node loses no
// acknowledged message.
func TestTwoNodesOnExternalCluster(t *testing.T) {
	nodes, url := startNATSProcesses(t, 3)
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

	// The NATS node leading the jobs stream dies without stepping down, as
	// a machine does: R3 streams keep quorum, but the stream has no leader
	// until the survivors elect one (4 to 9 s of raft election timeout), and
	// the enqueues below are sent during that election.
	leader := streamLeader(t, url, broker.Subject("east", "q", "work", "jobs"))
	crashed := false
	for _, n := range nodes {
		if n.name == leader {
			n.crash(t)
			crashed = true
		}
	}
	if !crashed {
		t.Fatalf("stream leader %q is none of the nodes", leader)
	}
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
// second has two runs (a tick fired by both nodes would).
//
// useMonitor is off for sub-minute schedules (ScheduleStatus is null), so
// a run is known by its invocation time (sys.UtcNow), which is when the
// scheduler took the tick (timer.Info.ClaimedAt), and the due second it
// ran for is that time truncated, not rounded: a tick is taken no earlier
// than it is due and the next tick is the first occurrence after that, so
// runs of distinct ticks fall in distinct seconds however late they run.
// (sys.UtcNow used to be read when the run started, after the status
// compare-and-set: during the NATS election that write took seconds, the
// run of tick T and the now past-due run of T+1 started within the same
// second, and this check counted them as one tick run twice.)
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
	seen := map[time.Time]bool{}
	var runs []string
	for _, m := range page.Messages {
		at := tickTime(t, m.Body)
		runs = append(runs, at.Format("15:04:05.000"))
		due := at.Truncate(time.Second)
		if seen[due] {
			t.Fatalf("tick due %s ran twice; runs at %v", due.Format(time.TimeOnly), runs)
		}
		seen[due] = true
	}
}

// tickTime is the invocation time of the timer run that wrote body.
func tickTime(t *testing.T, body string) time.Time {
	t.Helper()
	var tick struct {
		Payload struct {
			Metadata struct {
				Sys struct{ UtcNow time.Time } `json:"sys"`
			}
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(body), &tick); err != nil {
		t.Fatalf("tick message %q: %v", body, err)
	}
	if tick.Payload.Metadata.Sys.UtcNow.IsZero() {
		t.Fatalf("tick without a time: %s", body)
	}
	return tick.Payload.Metadata.Sys.UtcNow
}
