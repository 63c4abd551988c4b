package timer

import (
	"time"

	"github.com/tandemhq/tandem/internal/schedule"
)

// reconciled is the outcome of checking a stored status when a node starts
// running a timer.
type reconciled struct {
	rec     record
	write   bool // rec differs from what is stored
	pastDue bool // run once now with IsPastDue
}

// reconcile is Azure's ScheduleMonitor.CheckPastDueAsync, applied whenever
// a node takes a timer over (start-up, promotion, lease takeover):
//   - no status yet: record Next = next occurrence after now;
//   - the schedule changed (stored Next is not the occurrence after Last,
//     or after LastUpdated when it never ran): record the new schedule's
//     next occurrence, recomputed from now if that is already past, with
//     Last cleared; so a schedule change never causes a past-due run;
//   - otherwise, if now is after the stored Next, one run is past due.
//
// With monitoring off (sub-minute schedules, useMonitor false) nothing is
// ever past due: a stale Next is moved to the next occurrence after now.
func reconcile(stored *record, s schedule.Schedule, now time.Time, monitor bool) reconciled {
	if stored == nil {
		return reconciled{rec: record{Next: s.Next(now), LastUpdated: now}, write: true}
	}
	out := reconciled{rec: *stored}
	expected, basis := s.Next(now), now
	switch {
	case !stored.Last.IsZero():
		expected, basis = s.Next(stored.Last), stored.Last
	case !stored.LastUpdated.IsZero():
		expected, basis = s.Next(stored.LastUpdated), stored.LastUpdated
	}
	if !stored.Next.Equal(expected) {
		if now.After(expected) {
			expected, basis = s.Next(now), now
		}
		out.rec = record{Next: expected, LastUpdated: basis}
		out.write = true
	}
	out.pastDue = now.After(out.rec.Next)
	if out.pastDue && !monitor {
		out.rec.Next, out.rec.LastUpdated = s.Next(now), now
		out.write, out.pastDue = true, false
	}
	return out
}

// ran is the status recorded for a run starting at now (Azure's
// InvokeJobFunction: Last = LastUpdated = invocation time, Next = the
// occurrence after it), written before the run starts.
func ran(s schedule.Schedule, now time.Time) record {
	return record{Last: now, Next: s.Next(now), LastUpdated: now}
}
