// Package schedule reads timer schedules as Azure Functions writes them,
// NCRONTAB expressions and TimeSpan intervals, and computes their next
// occurrence exactly as Azure's TimerTrigger does (NCrontab field rules,
// day-of-month AND day-of-week, Azure's daylight-saving adjustments), so
// an app's timers fire at the same instants on Tandem as on Azure.
//
// Forms accepted (Azure tries NCRONTAB first, then TimeSpan):
//   - 6 fields "{second} {minute} {hour} {day} {month} {day-of-week}";
//   - exactly 5 fields: the same without seconds (second 0), as Azure does;
//   - a TimeSpan "hh:mm:ss", "d.hh:mm:ss" (also "hh:mm", "d" and
//     "d:hh:mm:ss"), meaning "every interval" counted from the previous run
//     (Azure's ConstantSchedule: next = base + interval).
//
// Each field is "*", a value, a range "a-b" (reversed bounds are swapped,
// so "FRI-MON" is Monday to Friday), a step "*/n", "a-b/n" or "a/n"
// (a to the maximum), or a comma list of those. Months and days of the week
// take names matched by case-insensitive prefix (JAN, March, MON, Thu).
// Day-of-week is 0-6 with Sunday 0; 7 is refused, as in NCrontab. A step
// below 1 counts as 1, as in NCrontab.
package schedule

import (
	"fmt"
	"time"
)

// Schedule is a parsed timer schedule bound to a time zone. The zero value
// is not usable; get one from Parse.
type Schedule struct {
	expr  string
	cron  *cron
	every time.Duration
	loc   *time.Location
}

// Option adjusts how Parse reads a schedule.
type Option func(*Schedule)

// In evaluates the schedule in loc (Azure: WEBSITE_TIME_ZONE or TZ); nil
// means UTC, Azure's default.
func In(loc *time.Location) Option {
	return func(s *Schedule) {
		if loc != nil {
			s.loc = loc
		}
	}
}

// SyntaxError is the error Parse returns: the expression and what is wrong
// with it, naming the field.
type SyntaxError struct {
	Expr string
	Err  error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("schedule %q: %v", e.Expr, e.Err) }

// Unwrap returns the underlying problem.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Parse reads an NCRONTAB expression or a TimeSpan. Errors name the field,
// e.g. `schedule "0 */5 * * * xyz": day-of-week field "xyz": ...`.
func Parse(expr string, opts ...Option) (Schedule, error) {
	s := Schedule{expr: expr, loc: time.UTC}
	for _, o := range opts {
		o(&s)
	}
	fields := splitFields(expr)
	if len(fields) > 1 {
		c, err := parseCron(fields)
		if err != nil {
			return Schedule{}, &SyntaxError{expr, err}
		}
		s.cron = c
		return s, nil
	}
	d, err := parseTimeSpan(expr)
	if err != nil {
		return Schedule{}, &SyntaxError{expr, fmt.Errorf("not an NCRONTAB expression (6 fields, or 5 without seconds) and not a TimeSpan: %w", err)}
	}
	s.every = d
	return s, nil
}

// String returns the expression as written.
func (s Schedule) String() string { return s.expr }

// Location is the time zone the schedule is evaluated in.
func (s Schedule) Location() *time.Location { return s.loc }

// Interval returns the TimeSpan of an interval schedule, and false for an
// NCRONTAB schedule.
func (s Schedule) Interval() (time.Duration, bool) { return s.every, s.cron == nil }

// SubMinute reports whether the schedule can fire more than once a minute;
// Azure turns schedule monitoring (useMonitor) off for such schedules.
func (s Schedule) SubMinute() bool {
	if s.cron == nil {
		return s.every < time.Minute
	}
	return s.cron.subMinute()
}

// Next returns the first occurrence after the instant after, in the
// schedule's location. For a TimeSpan it is after + interval. For NCRONTAB
// it follows Azure's CronSchedule: the next matching wall-clock second,
// with a wall time skipped by a spring-forward gap moved past the gap, and
// a fall-back hour run once for point-in-time schedules and straight
// through for interval schedules. The zero time means never.
func (s Schedule) Next(after time.Time) time.Time {
	if s.cron == nil {
		return after.Add(s.every).In(s.loc)
	}
	if s.loc == time.UTC {
		return s.cron.nextWall(after.UTC())
	}
	return s.nextInZone(after.In(s.loc))
}
