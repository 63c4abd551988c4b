package schedule

import "time"

// nextInZone is Azure's CronSchedule.GetNextOccurrence for a zone with
// daylight-saving time: NCrontab runs on wall-clock times, the result is
// placed in the zone the way .NET's DateTimeOffset(DateTime) does (an
// invalid or ambiguous wall time takes the standard offset), then
// fall-back ambiguity is adjusted.
func (s Schedule) nextInZone(now time.Time) time.Time {
	nowWall := wall(now)
	nextWall := s.cron.nextWall(nowWall)
	if nextWall.IsZero() {
		return time.Time{}
	}
	next := place(nextWall, s.loc)
	nowAmb, nextAmb := ambiguous(nowWall, s.loc), ambiguous(wall(next), s.loc)
	if !nowAmb && !nextAmb {
		return next
	}
	_, nowOff := now.Zone()
	_, nextOff := next.Zone()
	shift := time.Duration(nextOff-nowOff) * time.Second
	interval := s.cron.isInterval()
	switch {
	case !interval && nextAmb && nextOff != nowOff:
		// Point-in-time, crossing into standard time: run the first
		// (daylight) occurrence of the repeated wall time.
		return next.Add(shift)
	case !interval && nextAmb:
		// Point-in-time, already in standard time: the daylight occurrence
		// has run, so skip the repeated wall times.
		w := wall(next)
		for !w.IsZero() && ambiguous(w, s.loc) {
			w = s.cron.nextWall(w)
		}
		if w.IsZero() {
			return time.Time{}
		}
		return place(w, s.loc)
	case interval && nextOff != nowOff:
		// Interval: keep running through the repeated hour.
		return next.Add(shift)
	}
	return next
}

// wall returns t's wall-clock reading as a UTC value.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

type zoneOffset struct {
	secs int
	dst  bool
}

// offsetsNear lists the distinct offsets loc uses within a day of w.
func offsetsNear(w time.Time, loc *time.Location) []zoneOffset {
	var out []zoneOffset
	for _, d := range []int64{-86400, 0, 86400} {
		t := time.Unix(w.Unix()+d, 0).In(loc)
		_, off := t.Zone()
		z := zoneOffset{off, t.IsDST()}
		if !containsOffset(out, z.secs) {
			out = append(out, z)
		}
	}
	return out
}

func containsOffset(zs []zoneOffset, secs int) bool {
	for _, z := range zs {
		if z.secs == secs {
			return true
		}
	}
	return false
}

// validOffsets returns the offsets under which wall time w exists in loc:
// none in a spring-forward gap, two in a fall-back overlap.
func validOffsets(w time.Time, loc *time.Location) []zoneOffset {
	var out []zoneOffset
	for _, z := range offsetsNear(w, loc) {
		_, off := time.Unix(w.Unix()-int64(z.secs), 0).In(loc).Zone()
		if off == z.secs {
			out = append(out, z)
		}
	}
	return out
}

func ambiguous(w time.Time, loc *time.Location) bool { return len(validOffsets(w, loc)) > 1 }

// place turns wall time w into an instant in loc like .NET's
// new DateTimeOffset(localDateTime): the one valid offset, else the
// standard (non-daylight) offset; a gap time thus lands after the gap.
func place(w time.Time, loc *time.Location) time.Time {
	valid := validOffsets(w, loc)
	off := 0
	switch {
	case len(valid) == 1:
		off = valid[0].secs
	default:
		off = standard(offsetsNear(w, loc))
	}
	return time.Unix(w.Unix()-int64(off), int64(w.Nanosecond())).In(loc)
}

func standard(zs []zoneOffset) int {
	for _, z := range zs {
		if !z.dst {
			return z.secs
		}
	}
	min := zs[0].secs
	for _, z := range zs[1:] {
		if z.secs < min {
			min = z.secs
		}
	}
	return min
}
