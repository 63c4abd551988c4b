package drill

import (
	"strings"
	"testing"
	"time"
)

func TestTickClassification(t *testing.T) {
	base := time.Date(2026, 11, 23, 21, 20, 50, 0, time.UTC)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	r := &run{start: at(0), fault: at(5).Add(682 * time.Millisecond), back: at(12).Add(934 * time.Millisecond), end: at(16).Add(20 * time.Millisecond)}
	r.handovers = []handover{{at: r.fault, from: "east"}, {at: r.back, to: "east"}}
	per := map[string]int{}
	region := map[string]string{}
	for _, s := range []int{2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 14, 15} { // 7 after the fault; 13 after failback
		per[at(s).Format("20060102T150405Z")] = 1
		region[at(s).Format("20060102T150405Z")] = map[bool]string{true: "west", false: "east"}[s >= 8 && s <= 12]
	}
	// 6: the faulted east still ran before its lease ran out: not the takeover.
	per[at(9).Format("20060102T150405Z")] = 2 // one second ran twice
	// Seconds of the drill before and after this one, whatever they hold,
	// are not this drill's to count.
	per[at(-3).Format("20060102T150405Z")], per[at(17).Format("20060102T150405Z")] = 2, 2
	rep := &Report{}
	rowsFor := func() []map[string]any {
		var rows []map[string]any
		for s, n := range per {
			for i := 0; i < n; i++ {
				rows = append(rows, map[string]any{"Second": s, "Region": region[s]})
			}
		}
		return rows
	}
	r.countTicks(rep, rowsFor())
	if rep.TicksMissedInHandover != 2 || rep.TicksMissed != 0 {
		t.Fatalf("handover %d, otherwise %d (at %v), want 2 and 0", rep.TicksMissedInHandover, rep.TicksMissed, rep.TicksMissedAt)
	}
	if len(rep.TicksTwice) != 1 || rep.TicksTwice[0] != at(9).Format("20060102T150405Z") {
		t.Fatalf("twice %v", rep.TicksTwice)
	}
	if rep.Ticks != 13 { // the 12 seconds 2..15 but 7 and 13, 9 twice
		t.Fatalf("%d timer runs counted, want the 13 of this drill", rep.Ticks)
	}
	delete(per, at(10).Format("20060102T150405Z")) // a miss after ticks resumed is a real miss
	rep = &Report{}
	r.countTicks(rep, rowsFor())
	if rep.TicksMissed != 1 {
		t.Fatalf("otherwise %d, want 1", rep.TicksMissed)
	}
}

func TestRTO(t *testing.T) {
	fault := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return fault.Add(time.Duration(n) * time.Millisecond) }
	r := &run{fault: fault, heal: ms(10000), target: "east"}
	recs := []record{
		{method: "GET", sent: ms(1), at: ms(2), ok: true, region: "east"},       // before the signal landed
		{method: "GET", sent: ms(10), at: ms(3010), ok: true, region: "west"},   // stuck on the hung region, retried
		{method: "GET", sent: ms(20), at: ms(900), ok: false},                   // failed
		{method: "GET", sent: ms(1200), at: ms(1210), ok: true, region: "west"}, // after detection
		{method: "GET", sent: ms(1300), at: ms(1305), ok: true, region: "west"},
	}
	if got := r.rto(recs); got != 1210*time.Millisecond {
		t.Fatalf("rto %v, want 1.21s", got)
	}
	if got := r.slowest(recs); got != 3000*time.Millisecond {
		t.Fatalf("slowest %v, want 3s", got)
	}
}

// TestBlobCounts: an acknowledged blob with no run is lost, a blob with
// two runs fired twice; runs of other drills and of unacknowledged writes
// do not count as lost; the report prints the line.
func TestBlobCounts(t *testing.T) {
	run := "r1"
	rows := []map[string]any{
		{"Blob": "r1-b000001"},
		{"Blob": "r1-b000002"}, {"Blob": "r1-b000002"},
		{"Blob": "r1-b000009"},                         // its POST failed after the blob was stored: fired, not acknowledged
		{"Blob": "r0-b000003"}, {"Blob": "r0-b000003"}, // another drill's
	}
	rep := &Report{}
	countBlobs(rep, run, []string{"r1-b000001", "r1-b000002", "r1-b000003"}, rows)
	if rep.BlobsAcked != 3 || len(rep.BlobsLost) != 1 || rep.BlobsLost[0] != "r1-b000003" {
		t.Fatalf("acked %d, lost %v", rep.BlobsAcked, rep.BlobsLost)
	}
	if len(rep.BlobsFiredTwice) != 1 || rep.BlobsFiredTwice[0] != "r1-b000002" {
		t.Fatalf("fired twice %v", rep.BlobsFiredTwice)
	}
	var b strings.Builder
	rep.Print(&b)
	for _, line := range []string{
		"  blobs acknowledged 3, lost 1, fired twice 1\n",
		"  lost blobs: r1-b000003\n",
		"  blobs fired twice: r1-b000002\n",
		"  messages acknowledged 0, lost 0, delivered twice 0\n",
		"  BLOB  requests      0   failed    0",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, b.String())
		}
	}
	if rep.SyncMode = true; !rep.Broken() {
		t.Error("a lost blob in sync mode is not reported broken")
	}
}
