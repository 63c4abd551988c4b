package timer

import (
	"encoding/json"
	"time"
)

// Info is the timer trigger's value, marshalled exactly like Azure's
// TimerInfo payload:
//
//	{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"...","Next":"...","LastUpdated":"..."},"IsPastDue":false}
//
// ScheduleStatus is null when schedule monitoring is off. As in Azure it is
// the status before this run: on a scheduled run Next is the time this run
// was due and Last the previous run.
type Info struct {
	Schedule       ScheduleInfo `json:"Schedule"`
	ScheduleStatus *Status      `json:"ScheduleStatus"`
	IsPastDue      bool         `json:"IsPastDue"`
	// ClaimedAt is when the scheduler took this tick (its clock's time
	// when it decided to run it, before the status compare-and-set): the
	// invocation's time (sys.UtcNow), as the moment Azure's timer fires.
	// The next tick is the schedule's first occurrence after it. Not part
	// of the payload.
	ClaimedAt time.Time `json:"-"`
}

// ScheduleInfo is what Azure serialises of the schedule object.
type ScheduleInfo struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

// Status is Azure's ScheduleStatus. Times are in the timer's time zone and
// marshal like Json.NET writes a local DateTime: up to seven fraction
// digits without trailing zeros and the zone offset, e.g.
// "2026-09-24T13:08:00.0096035+00:00"; the zero time (never ran) is
// DateTime.MinValue in the zone, "0001-01-01T00:00:00+00:00" in UTC.
type Status struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

// MarshalJSON writes the three times in Azure's format.
func (s Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	}{dotnetTime(s.Last), dotnetTime(s.Next), dotnetTime(s.LastUpdated)})
}

// UnmarshalJSON reads the format MarshalJSON writes (handy for handlers
// and tests written in Go).
func (s *Status) UnmarshalJSON(b []byte) error {
	var raw struct{ Last, Next, LastUpdated string }
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&s.Last, raw.Last}, {&s.Next, raw.Next}, {&s.LastUpdated, raw.LastUpdated}} {
		if *f.dst, err = parseDotnetTime(f.src); err != nil {
			return err
		}
	}
	return nil
}

const dotnetLayout = "2006-01-02T15:04:05.9999999-07:00"

func dotnetTime(t time.Time) string {
	if t.IsZero() {
		return dotnetMin(t.Location())
	}
	return t.Format(dotnetLayout)
}

// dotnetMin renders DateTime.MinValue.ToLocalTime() for loc: midnight of
// year 1 shifted by a positive standard offset, clamped for a negative one.
func dotnetMin(loc *time.Location) string {
	off := standardOffset(loc)
	zone := time.FixedZone("", off)
	t := time.Date(1, 1, 1, 0, 0, 0, 0, zone)
	if off > 0 {
		t = t.Add(time.Duration(off) * time.Second)
	}
	return t.Format(dotnetLayout)
}

// standardOffset is the zone's offset outside daylight-saving time this year.
func standardOffset(loc *time.Location) int {
	y := time.Now().Year()
	for _, m := range []time.Month{time.January, time.July} {
		t := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		if !t.IsDST() {
			_, off := t.Zone()
			return off
		}
	}
	_, off := time.Date(y, time.January, 1, 0, 0, 0, 0, loc).Zone()
	return off
}

func parseDotnetTime(s string) (time.Time, error) {
	t, err := time.Parse(dotnetLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() == 1 && t.Month() == 1 && t.Day() == 1 {
		return time.Time{}, nil
	}
	return t, nil
}

// status converts a record to the payload's status in loc (a zero time
// keeps loc, so it renders as MinValue in that zone), or nil when
// monitoring is off.
func status(r record, loc *time.Location, monitor bool) *Status {
	if !monitor {
		return nil
	}
	return &Status{Last: r.Last.In(loc), Next: r.Next.In(loc), LastUpdated: r.LastUpdated.In(loc)}
}
