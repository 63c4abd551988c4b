package timer

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // zone cases run on machines without zoneinfo
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestInfoJSON(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	at := time.Date(2026, 9, 24, 13, 8, 0, 9603500, time.UTC)
	due := time.Date(2026, 9, 24, 13, 9, 0, 0, time.UTC)
	cases := []struct {
		name string
		info Info
	}{
		{"scheduled", Info{ScheduleInfo{true}, &Status{Last: at, Next: due, LastUpdated: at}, false, at}},                                                        // ClaimedAt: not in the payload
		{"first-run", Info{ScheduleInfo{true}, &Status{Next: due, LastUpdated: at}, false, at}},                                                                  // ClaimedAt: not in the payload
		{"past-due", Info{ScheduleInfo{true}, &Status{Last: due.Add(-time.Hour), Next: due.Add(-59 * time.Minute), LastUpdated: due.Add(-time.Hour)}, true, at}}, // ClaimedAt: not in the payload
		{"no-monitor", Info{ScheduleInfo{true}, nil, false, at}},                                                                                                 // ClaimedAt: not in the payload
		{"paris", Info{ScheduleInfo{true}, status(record{Last: at, Next: due, LastUpdated: at}, paris, true), false, at}},                                        // ClaimedAt: not in the payload
		{"paris-first-run", Info{ScheduleInfo{true}, status(record{Next: due, LastUpdated: at}, paris, true), false, at}},                                        // ClaimedAt: not in the payload
		{"los-angeles-first-run", Info{ScheduleInfo{true}, status(record{Next: due, LastUpdated: at}, la, true), false, at}},                                     // ClaimedAt: not in the payload
	}
	for _, c := range cases {
		got, err := json.Marshal(c.info)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "info", c.name+".json")
		if *update {
			if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got)+"\n" != string(want) {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, want)
		}
		checkRoundTrip(t, c.info, got)
	}
}

func checkRoundTrip(t *testing.T, in Info, b []byte) {
	t.Helper()
	var out Info
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if (in.ScheduleStatus == nil) != (out.ScheduleStatus == nil) || out.IsPastDue != in.IsPastDue {
		t.Fatalf("round trip of %s: %+v", b, out)
	}
	if in.ScheduleStatus != nil {
		a, b := in.ScheduleStatus, out.ScheduleStatus
		if !a.Last.Equal(b.Last) || !a.Next.Equal(b.Next) || !a.LastUpdated.Equal(b.LastUpdated) {
			t.Fatalf("round trip: %+v != %+v", a, b)
		}
	}
}
