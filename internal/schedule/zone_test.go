package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need America/Los_Angeles on any machine
)

// Daylight-saving behaviour of Azure's CronSchedule in America/Los_Angeles
// (2026: spring forward Mar 8 02:00->03:00, fall back Nov 1 02:00->01:00).
func TestDaylightSaving(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, expr string
		from       string
		want       []string // RFC 3339 instants with offsets
	}{
		{"point-in-time in the spring gap runs after the gap", "0 30 2 * * *", "2026-03-07T02:00:00-08:00",
			[]string{"2026-03-07T02:30:00-08:00", "2026-03-08T03:30:00-07:00", "2026-03-09T02:30:00-07:00"}},
		{"interval skips the missing hour", "0 */30 * * * *", "2026-03-08T01:00:00-08:00",
			[]string{"2026-03-08T01:30:00-08:00", "2026-03-08T03:00:00-07:00", "2026-03-08T03:30:00-07:00"}},
		{"point-in-time in the repeated hour runs once (daylight)", "0 30 1 * * *", "2026-10-31T02:00:00-07:00",
			[]string{"2026-11-01T01:30:00-07:00", "2026-11-02T01:30:00-08:00"}},
		{"point-in-time started in the second pass skips it", "0 30 1 * * *", "2026-11-01T01:10:00-08:00",
			[]string{"2026-11-02T01:30:00-08:00"}},
		{"interval runs through the repeated hour", "0 */30 * * * *", "2026-11-01T00:30:00-07:00",
			[]string{"2026-11-01T01:00:00-07:00", "2026-11-01T01:30:00-07:00", "2026-11-01T01:00:00-08:00",
				"2026-11-01T01:30:00-08:00", "2026-11-01T02:00:00-08:00"}},
		{"timespan counts real time", "01:00:00", "2026-11-01T00:30:00-07:00",
			[]string{"2026-11-01T01:30:00-07:00", "2026-11-01T01:30:00-08:00", "2026-11-01T02:30:00-08:00"}},
	}
	for _, c := range cases {
		s, err := Parse(c.expr, In(la))
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, c.from)
		for i, w := range c.want {
			at = s.Next(at)
			if got := at.Format(time.RFC3339); got != w {
				t.Errorf("%s: occurrence %d = %s, want %s", c.name, i+1, got, w)
				break
			}
		}
	}
}

func TestLocationOptionDefaultsToUTC(t *testing.T) {
	s, _ := Parse("0 0 9 * * *", In(nil))
	if s.Location() != time.UTC {
		t.Fatalf("location %v", s.Location())
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	s, _ = Parse("0 0 9 * * *", In(tokyo))
	got := s.Next(base) // 12:00 UTC = 21:00 JST; next 09:00 JST = 00:00 UTC
	if want := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next %s, want %s", got, want)
	}
}
