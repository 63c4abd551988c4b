package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDaysSpan bounds the day count so the interval fits a time.Duration
// (about 292 years; .NET allows 10675199 days, which no timer needs).
const maxDaysSpan = 106750

// parseTimeSpan reads the .NET TimeSpan forms Azure's TimerTrigger accepts
// through TimeSpan.TryParse: "d", "hh:mm", "hh:mm:ss", "d.hh:mm",
// "d.hh:mm:ss", "d:hh:mm:ss", with an optional ".fffffff" fraction after
// the seconds. Hours are 0-23, minutes and seconds 0-59 (so "24:00:00" is
// refused, as in .NET). Zero and negative spans are refused: Azure would
// fire them in a tight loop.
func parseTimeSpan(text string) (time.Duration, error) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("a negative TimeSpan is not an interval")
	}
	parts := strings.Split(s, ":")
	var (
		d   time.Duration
		err error
	)
	switch len(parts) {
	case 1:
		d, err = spanDays(parts[0])
	case 2, 3:
		d, err = spanDotted(parts)
	case 4:
		d, err = spanColonDays(parts)
	default:
		err = fmt.Errorf("%d ':'-separated parts: want hh:mm[:ss], d.hh:mm[:ss] or d:hh:mm:ss", len(parts))
	}
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errors.New("the interval must be longer than zero")
	}
	return d, nil
}

func spanDays(text string) (time.Duration, error) {
	n, err := component("days", text, maxDaysSpan)
	return time.Duration(n) * 24 * time.Hour, err
}

// spanDotted handles [d.]hh:mm[:ss[.f]].
func spanDotted(parts []string) (time.Duration, error) {
	var days time.Duration
	head := parts[0]
	if i := strings.IndexByte(head, '.'); i >= 0 {
		d, err := spanDays(head[:i])
		if err != nil {
			return 0, err
		}
		days, head = d, head[i+1:]
	}
	rest, err := spanClock(append([]string{head}, parts[1:]...))
	return days + rest, err
}

// spanColonDays handles d:hh:mm:ss[.f] (the .NET "G" form).
func spanColonDays(parts []string) (time.Duration, error) {
	days, err := spanDays(parts[0])
	if err != nil {
		return 0, err
	}
	rest, err := spanClock(parts[1:])
	return days + rest, err
}

// spanClock handles hh:mm or hh:mm:ss[.fffffff].
func spanClock(parts []string) (time.Duration, error) {
	h, err := component("hours", parts[0], 23)
	if err != nil {
		return 0, err
	}
	m, err := component("minutes", parts[1], 59)
	if err != nil {
		return 0, err
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if len(parts) == 2 {
		return d, nil
	}
	sec, frac, _ := strings.Cut(parts[2], ".")
	s, err := component("seconds", sec, 59)
	if err != nil {
		return 0, err
	}
	f, err := fraction(parts[2], frac)
	return d + time.Duration(s)*time.Second + f, err
}

func component(name, text string, max int64) (int64, error) {
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return 0, fmt.Errorf("%s %q is not a number", name, text)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n > max {
		hint := ""
		if name == "hours" {
			hint = " (write 1.00:00:00 for one day)"
		}
		return 0, fmt.Errorf("%s %s is above %d%s", name, text, max, hint)
	}
	return n, nil
}

// fraction reads up to seven digits of a second (100 ns ticks).
func fraction(seconds, text string) (time.Duration, error) {
	if !strings.Contains(seconds, ".") {
		return 0, nil
	}
	if text == "" || len(text) > 7 || strings.TrimLeft(text, "0123456789") != "" {
		return 0, fmt.Errorf("fraction %q: want 1 to 7 digits", text)
	}
	n, _ := strconv.ParseInt(text+strings.Repeat("0", 7-len(text)), 10, 64)
	return time.Duration(n) * 100 * time.Nanosecond, nil
}
