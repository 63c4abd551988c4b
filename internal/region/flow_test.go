package region

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOrderFlow: HTTP -> queue output -> queueTrigger -> table output ->
// HTTP with a table input, all through the hello-go example.
func TestOrderFlow(t *testing.T) {
	dir := exampleApp(t, "hello-go", nil)
	tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Dir: dir}} })
	key := tr.keyValue("/admin/host/functionkeys", "default")
	if r := tr.do("POST", "/api/orders/7", key, "two apples"); r.code != 202 || canon(t, r.json(t)) != `{"queued":"7"}` {
		t.Fatalf("enqueue: %d %s", r.code, r.body)
	}
	var row map[string]any
	eventually(t, "order processed into the table", func() bool {
		r := tr.do("GET", "/api/orders/7", key, "")
		if r.code != 200 {
			return false
		}
		row = r.json(t)
		return true
	})
	if row["Status"] != "processed" || row["Body"] != "two apples" || row["RowKey"] != "7" {
		t.Fatalf("row %v", row)
	}
	if r := tr.do("GET", "/api/orders/8", key, ""); r.code != 404 {
		t.Fatalf("missing order: %d %s", r.code, r.body)
	}
	if l := queueLen(t, tr, "hello-go", "orders"); l != 0 {
		t.Fatalf("queue length after processing: %d", l)
	}
}

func queueLen(t *testing.T, tr *testRegion, app, q string) int {
	t.Helper()
	r := tr.admin("GET", "/admin/apps/"+app+"/queues/"+q, "")
	if r.code == 404 {
		return -1 // not created yet
	}
	var info struct {
		Length int `json:"length"`
	}
	if err := json.Unmarshal(r.body, &info); err != nil || r.code != 200 {
		t.Fatalf("queue info %s: %d %s", q, r.code, r.body)
	}
	return info.Length
}

// TestPoisonAfterMaxDequeueCount: a handler that always fails sees the
// message maxDequeueCount times, then it is in <queue>-poison.
func TestPoisonAfterMaxDequeueCount(t *testing.T) {
	app := testApp{name: "jobs", queues: map[string]any{"maxDequeueCount": 3, "visibilityTimeout": "00:00:00.1", "messageEncoding": "none"},
		functions: map[string]string{"work": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"job","queueName":"work"}]}`},
		settings:  map[string]string{"REPLY_work": "status:500"}}
	tr := startRegion(t, nil, app)
	if r := tr.admin("POST", "/admin/apps/jobs/queues/work/messages", `{"job":1}`); r.code/100 != 2 {
		t.Fatalf("enqueue: %d %s", r.code, r.body)
	}
	// The listener copies the message to the poison queue, then deletes the
	// original: in between, both queues hold it.
	eventually(t, "message moved to work-poison", func() bool {
		return queueLen(t, tr, "jobs", "work-poison") == 1 && queueLen(t, tr, "jobs", "work") == 0
	})
	usage := tr.Meter().Report().Apps["jobs"].Functions["work"]
	if usage.Executions != 3 || usage.Failures != 3 {
		t.Fatalf("deliveries %+v, want 3 failed", usage)
	}
	peek := tr.admin("GET", "/admin/apps/jobs/queues/work-poison/messages?peek=1", "")
	if !strings.Contains(string(peek.body), `job`) {
		t.Fatalf("poison message: %s", peek.body)
	}
}

// TestPendingMessagesSurviveRestart: orders queued while the processor is
// disabled stay in JetStream across a region restart and are all processed
// once it is enabled.
func TestPendingMessagesSurviveRestart(t *testing.T) {
	data := t.TempDir()
	dir := exampleApp(t, "hello-go", map[string]string{"AzureWebJobs.process-order.Disabled": "true"})
	opts := func(o *Options) { o.Apps = []AppSpec{{Dir: dir}}; o.DataDir = data }
	first := startRegion(t, opts)
	key := first.keyValue("/admin/host/functionkeys", "default")
	const n = 20
	for i := 0; i < n; i++ {
		if r := first.do("POST", fmt.Sprintf("/api/orders/%d", i), key, "x"); r.code != 202 {
			t.Fatalf("enqueue %d: %d %s", i, r.code, r.body)
		}
	}
	if l := queueLen(t, first, "hello-go", "orders"); l != n {
		t.Fatalf("pending %d, want %d", l, n)
	}
	shutdown(t, first)

	second := startRegion(t, opts)
	if l := queueLen(t, second, "hello-go", "orders"); l != n {
		t.Fatalf("after restart %d pending, want %d", l, n)
	}
	if r := second.admin("DELETE", "/admin/apps/hello-go/settings/AzureWebJobs.process-order.Disabled", ""); r.code/100 != 2 {
		t.Fatalf("enable: %d %s", r.code, r.body)
	}
	eventually(t, "every pending order processed", func() bool { return queueLen(t, second, "hello-go", "orders") == 0 })
	for i := 0; i < n; i++ {
		if r := second.do("GET", fmt.Sprintf("/api/orders/%d", i), key, ""); r.code != 200 {
			t.Fatalf("order %d: %d %s", i, r.code, r.body)
		}
	}
}

// TestTimerFiresInRegion: a 1-second NCRONTAB timer from a %setting% fires
// on the real clock with the TimerInfo payload.
func TestTimerFiresInRegion(t *testing.T) {
	app := testApp{name: "clock", settings: map[string]string{"EVERY": "*/1 * * * * *"},
		functions: map[string]string{"tick": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"%EVERY%"}]}`}}
	tr := startRegion(t, nil, app)
	eventually(t, "two ticks", func() bool {
		return tr.Meter().Report().Apps["clock"].Functions["tick"].Executions >= 2
	})
	if f := tr.Meter().Report().Apps["clock"].Functions["tick"].Failures; f != 0 {
		t.Fatalf("%d failed ticks", f)
	}
}

func shutdown(t *testing.T, tr *testRegion) {
	t.Helper()
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
