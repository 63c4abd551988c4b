package schedule

import (
	"fmt"
	"strings"
	"time"
)

// cron is a parsed NCRONTAB expression. Like NCrontab, an occurrence must
// match every field, day-of-month AND day-of-week (Vixie cron ORs the two
// day fields when both are restricted; NCrontab does not).
type cron struct {
	sec, min, hour, day, month, weekday set
	withSeconds                         bool
}

// splitFields splits on spaces only, dropping empty entries, as Azure's
// CronSchedule and NCrontab do.
func splitFields(expr string) []string {
	var out []string
	for _, f := range strings.Split(expr, " ") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseCron parses 6 fields (with seconds) or, as Azure does when there are
// exactly 5, 5 fields with the second fixed at 0.
func parseCron(fields []string) (*cron, error) {
	c := &cron{withSeconds: len(fields) != 5}
	first := secondField
	if !c.withSeconds {
		first, c.sec = minuteField, 1 // second 0
	} else if len(fields) != 6 {
		return nil, fmt.Errorf("%d fields: want 6 ({second} {minute} {hour} {day} {month} {day-of-week}) or 5 (no seconds)", len(fields))
	}
	targets := [...]*set{&c.sec, &c.min, &c.hour, &c.day, &c.month, &c.weekday}
	for i, text := range fields {
		k := first + fieldKind(i)
		s, err := parseField(k, text)
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", fieldSpecs[k].name, text, err)
		}
		*targets[k] = s
	}
	if err := c.checkFires(); err != nil {
		return nil, err
	}
	return c, nil
}

// maxDays is the most days each month can have (February in a leap year).
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// checkFires refuses a schedule that can never occur, such as "0 0 0 30 2 *"
// (NCrontab accepts it and never fires; we say so instead).
func (c *cron) checkFires() error {
	for m := 1; m <= 12; m++ {
		if c.month.has(m) {
			if d, ok := c.day.next(1); ok && d <= maxDays[m] {
				return nil
			}
		}
	}
	return fmt.Errorf("day and month fields: no selected day exists in any selected month, so the schedule never fires")
}

// searchYears bounds the search: February 29 on a given weekday can be
// 40 years apart across a non-leap century year.
const searchYears = 100

// nextWall returns the first wall-clock time strictly after w (truncated to
// the second) matching every field, or the zero time. Wall times are
// carried as UTC values with no zone meaning.
func (c *cron) nextWall(w time.Time) time.Time {
	t := w.Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(searchYears, 0, 0)
	for !t.After(limit) {
		next, ok := c.advance(t)
		if ok {
			return t
		}
		t = next
	}
	return time.Time{}
}

// advance returns (t, true) if t matches, or the next candidate to try.
func (c *cron) advance(t time.Time) (time.Time, bool) {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	switch {
	case !c.month.has(int(mo)):
		if m, ok := c.month.next(int(mo) + 1); ok {
			return date(y, time.Month(m), 1, 0, 0, 0), false
		}
		return date(y+1, time.Month(c.month.first()), 1, 0, 0, 0), false
	case !c.day.has(d):
		if nd, ok := c.day.next(d + 1); ok && nd <= daysIn(y, mo) {
			return date(y, mo, nd, 0, 0, 0), false
		}
		return date(y, mo+1, 1, 0, 0, 0), false
	case !c.weekday.has(int(t.Weekday())):
		return date(y, mo, d+1, 0, 0, 0), false
	case !c.hour.has(h):
		if nh, ok := c.hour.next(h + 1); ok {
			return date(y, mo, d, nh, 0, 0), false
		}
		return date(y, mo, d+1, 0, 0, 0), false
	case !c.min.has(mi):
		if nm, ok := c.min.next(mi + 1); ok {
			return date(y, mo, d, h, nm, 0), false
		}
		return date(y, mo, d, h+1, 0, 0), false
	case !c.sec.has(s):
		if ns, ok := c.sec.next(s + 1); ok {
			return date(y, mo, d, h, mi, ns), false
		}
		return date(y, mo, d, h, mi+1, 0), false
	}
	return t, true
}

func date(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func daysIn(y int, mo time.Month) int { return date(y, mo+1, 0, 0, 0, 0).Day() }

// subMinute reports whether two occurrences can fall within one minute.
// Azure counts occurrences in the minute after start-up (so its answer can
// depend on the time of day); two or more second values is the
// time-independent form of the same rule.
func (c *cron) subMinute() bool { return c.sec.count() > 1 }

// isInterval mirrors Azure's CronSchedule.IsInterval: the expanded second
// (when given), minute or hour field is "*" or holds a range (two adjacent
// values). It decides how daylight-saving fall-back is handled.
func (c *cron) isInterval() bool {
	ranged := func(s set, k fieldKind) bool { return s.full(fieldSpecs[k]) || s.consecutive() }
	return ranged(c.min, minuteField) || ranged(c.hour, hourField) ||
		(c.withSeconds && ranged(c.sec, secondField))
}
