package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// matches reports whether wall time w satisfies every field.
func (c *cron) matches(w time.Time) bool {
	return c.sec.has(w.Second()) && c.min.has(w.Minute()) && c.hour.has(w.Hour()) &&
		c.day.has(w.Day()) && c.month.has(int(w.Month())) && c.weekday.has(int(w.Weekday()))
}

func FuzzNCronTab(f *testing.F) {
	for _, c := range nextCases {
		f.Add(c.expr)
	}
	for _, s := range []string{"0 */5 * * * xyz", "* * * * * *", "59 59 23 31 12 6", "0 0 0 29 2 MON",
		"1-59/7 */13 5-1 2,30 feb-jan SAT-sun", "*/-3 * * * * *", "0 0 0 * * 7", "0,,1 * * * * *",
		"\t* * * * * *", "* * * * *\x00", "99999999999 * * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("schedule %q: ", expr)) {
				t.Fatalf("error does not name the schedule: %v", err)
			}
			return
		}
		if s.cron == nil {
			return // a TimeSpan: FuzzTimeSpan covers it
		}
		checkOccurrences(t, s)
	})
}

// checkOccurrences verifies a few occurrences: each strictly later, each
// matching every field, and no matching second in the minute before it.
func checkOccurrences(t *testing.T, s Schedule) {
	at := base
	for i := 0; i < 3; i++ {
		next := s.Next(at)
		if next.IsZero() {
			t.Fatalf("%q: no occurrence after %s although parse accepted it", s, at)
		}
		if !next.After(at) || !s.cron.matches(next) {
			t.Fatalf("%q: Next(%s) = %s is not a later match", s, at, next)
		}
		for p := next.Add(-time.Second); p.After(at) && next.Sub(p) <= time.Minute; p = p.Add(-time.Second) {
			if s.cron.matches(p) {
				t.Fatalf("%q: Next(%s) = %s skipped %s", s, at, next, p)
			}
		}
		at = next
	}
}

func FuzzTimeSpan(f *testing.F) {
	for _, s := range []string{"00:05:00", "1.00:00:00", "24:00:00", "00:00:00", "-00:00:01", "7",
		"1:02:03:04.1234567", "00:00:00.00000001", "106750.23:59:59", "106751", "1.2.3", ":", "00:05"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := parseTimeSpan(text)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("%q: non-positive interval %v accepted", text, d)
		}
		again, err := parseTimeSpan(formatSpan(d))
		if err != nil || again != d {
			t.Fatalf("%q = %v; round trip %q = %v, %v", text, d, formatSpan(d), again, err)
		}
	})
}

// formatSpan writes d in the .NET "c" form d.hh:mm:ss.fffffff.
func formatSpan(d time.Duration) string {
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s, ticks := (d%time.Minute)/time.Second, (d%time.Second)/100
	return fmt.Sprintf("%d.%02d:%02d:%02d.%07d", days, h, m, s, ticks)
}
