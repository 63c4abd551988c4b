package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// fieldKind names one of the six NCRONTAB fields.
type fieldKind int

const (
	secondField fieldKind = iota
	minuteField
	hourField
	dayField
	monthField
	weekdayField
)

type fieldSpec struct {
	name     string
	min, max int
	names    []string // full names, matched by case-insensitive prefix
}

var fieldSpecs = [...]fieldSpec{
	secondField:  {"second", 0, 59, nil},
	minuteField:  {"minute", 0, 59, nil},
	hourField:    {"hour", 0, 23, nil},
	dayField:     {"day", 1, 31, nil},
	monthField:   {"month", 1, 12, []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}},
	weekdayField: {"day-of-week", 0, 6, []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}},
}

// set is a bit set of field values (all fields fit in 0..63).
type set uint64

func (s set) has(v int) bool { return v >= 0 && v < 64 && s&(1<<uint(v)) != 0 }

// next returns the smallest member >= v.
func (s set) next(v int) (int, bool) {
	if v < 0 {
		v = 0
	}
	if v >= 64 {
		return 0, false
	}
	rest := s >> uint(v)
	if rest == 0 {
		return 0, false
	}
	return v + bits.TrailingZeros64(uint64(rest)), true
}

func (s set) first() int { n, _ := s.next(0); return n }

func (s set) count() int { return bits.OnesCount64(uint64(s)) }

// full reports whether every legal value of f is in s.
func (s set) full(f fieldSpec) bool { return s.count() == f.max-f.min+1 }

// consecutive reports whether s holds two adjacent values (NCrontab
// formats such a run as "a-b").
func (s set) consecutive() bool { return s&(s>>1) != 0 }

// parseField parses one field the way NCrontab's CrontabFieldImpl does:
// a comma list (comma not first) of elements, each "*", a value, a range
// "a-b" (reversed bounds are swapped), optionally followed by "/step"; a
// value with a step means value-max/step. Names match by prefix.
func parseField(k fieldKind, text string) (set, error) {
	f := fieldSpecs[k]
	if i := strings.IndexByte(text, ','); i > 0 {
		var s set
		for _, part := range strings.Split(text, ",") {
			p, err := parseElement(f, part)
			if err != nil {
				return 0, err
			}
			s |= p
		}
		return s, nil
	}
	return parseElement(f, text)
}

func parseElement(f fieldSpec, text string) (set, error) {
	if text == "" {
		return 0, fmt.Errorf("empty value in list")
	}
	step, hasStep := 1, false
	if i := strings.IndexByte(text, '/'); i > 0 {
		n, err := parseStep(text[i+1:])
		if err != nil {
			return 0, err
		}
		step, hasStep = n, true
		text = text[:i]
	}
	if text == "*" {
		return accumulate(f, f.min, f.max, step)
	}
	if i := strings.IndexByte(text, '-'); i > 0 {
		lo, err := parseValue(f, text[:i])
		if err != nil {
			return 0, err
		}
		hi, err := parseValue(f, text[i+1:])
		if err != nil {
			return 0, err
		}
		return accumulate(f, lo, hi, step)
	}
	v, err := parseValue(f, text)
	if err != nil {
		return 0, err
	}
	if !hasStep {
		return accumulate(f, v, v, 1)
	}
	return accumulate(f, v, f.max, step)
}

// parseStep reads the number after '/'. Like NCrontab, a step below 1
// (including 0 and negative numbers) means 1.
func parseStep(text string) (int, error) {
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("step %q is not an integer", text)
	}
	if n < 1 {
		n = 1
	}
	return int(n), nil
}

func parseValue(f fieldSpec, text string) (int, error) {
	if text == "" {
		return 0, fmt.Errorf("empty value")
	}
	if c := text[0]; c >= '0' && c <= '9' {
		n, err := strconv.ParseInt(text, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", text)
		}
		return int(n), nil
	}
	if f.names == nil {
		return 0, fmt.Errorf("%q is not a number between %d and %d", text, f.min, f.max)
	}
	for i, name := range f.names {
		if len(text) <= len(name) && strings.EqualFold(name[:len(text)], text) {
			return f.min + i, nil
		}
	}
	return 0, fmt.Errorf("%q is not a %s name (%s-%s) or a number between %d and %d",
		text, f.name, abbrev(f.names[0]), abbrev(f.names[len(f.names)-1]), f.min, f.max)
}

func abbrev(name string) string { return strings.ToUpper(name[:3]) }

func accumulate(f fieldSpec, lo, hi, step int) (set, error) {
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo < f.min {
		return 0, fmt.Errorf("%d is below the minimum %d", lo, f.min)
	}
	if hi > f.max {
		return 0, fmt.Errorf("%d is above the maximum %d", hi, f.max)
	}
	var s set
	for v := lo; v <= hi; v += step {
		s |= 1 << uint(v)
	}
	return s, nil
}
