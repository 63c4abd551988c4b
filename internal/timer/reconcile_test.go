package timer

import (
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/schedule"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // a Monday

func at(hms string) time.Time {
	d, err := time.ParseDuration(hms)
	if err != nil {
		panic(err)
	}
	return t0.Add(d)
}

// Azure's ScheduleMonitor.CheckPastDueAsync, case by case.
func TestReconcile(t *testing.T) {
	every, _ := schedule.Parse("0 * * * * *")
	five, _ := schedule.Parse("0 */5 * * * *")
	fast, _ := schedule.Parse("*/10 * * * * *")
	cases := []struct {
		name    string
		stored  *record
		sched   schedule.Schedule
		now     time.Time
		monitor bool
		want    record
		write   bool
		pastDue bool
	}{
		{"new timer", nil, every, at("30s"), true,
			record{Next: at("1m"), LastUpdated: at("30s")}, true, false},
		{"on schedule", &record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, every, at("1m30s"), true,
			record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, false, false},
		{"exactly due is not past due", &record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, every, at("2m"), true,
			record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, false, false},
		{"missed runs: one past-due run", &record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, every, at("10m30s"), true,
			record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, false, true},
		{"never ran, missed", &record{Next: at("1m"), LastUpdated: at("30s")}, every, at("5m"), true,
			record{Next: at("1m"), LastUpdated: at("30s")}, false, true},
		{"schedule changed, expected past: from now, no past due", &record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, five, at("10m30s"), true,
			record{Next: at("15m"), LastUpdated: at("10m30s")}, true, false},
		{"schedule changed, expected ahead: kept", &record{Last: at("1m"), Next: at("2m"), LastUpdated: at("1m")}, five, at("2m30s"), true,
			record{Next: at("5m"), LastUpdated: at("1m")}, true, false},
		{"monitor off: stale next moves on, no run", &record{Last: at("1m"), Next: at("1m10s"), LastUpdated: at("1m")}, fast, at("5m5s"), false,
			record{Last: at("1m"), Next: at("5m10s"), LastUpdated: at("5m5s")}, true, false},
	}
	for _, c := range cases {
		r := reconcile(c.stored, c.sched, c.now, c.monitor)
		if r.write != c.write || r.pastDue != c.pastDue || !sameTimes(r.rec, c.want) {
			t.Errorf("%s: got %+v write=%v pastDue=%v; want %+v write=%v pastDue=%v",
				c.name, r.rec, r.write, r.pastDue, c.want, c.write, c.pastDue)
		}
	}
}

func sameTimes(a, b record) bool {
	return a.Last.Equal(b.Last) && a.Next.Equal(b.Next) && a.LastUpdated.Equal(b.LastUpdated)
}
