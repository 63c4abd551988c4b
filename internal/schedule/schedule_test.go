package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// base is Monday 2026-11-23 12:00:00 UTC.
var base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Expected occurrences were produced by an independent brute-force
// matcher (every field must match, NCrontab's rule) and checked by hand.
var nextCases = []struct {
	expr string
	want []string
}{
	{"0 */5 * * * *", []string{"2026-11-23T12:05:00", "2026-11-23T12:10:00", "2026-11-23T12:15:00"}},
	{"0 0 * * * *", []string{"2026-11-23T13:00:00", "2026-11-23T14:00:00", "2026-11-23T15:00:00"}},
	{"0 0 */2 * * *", []string{"2026-11-23T14:00:00", "2026-11-23T16:00:00", "2026-11-23T18:00:00"}},
	{"0 0 9-17 * * *", []string{"2026-11-23T13:00:00", "2026-11-23T14:00:00", "2026-11-23T15:00:00"}},
	{"0 30 9 * * *", []string{"2026-11-24T09:30:00", "2026-11-25T09:30:00", "2026-11-26T09:30:00"}},
	{"0 30 9 * * 1-5", []string{"2026-11-24T09:30:00", "2026-11-25T09:30:00", "2026-11-26T09:30:00"}},
	{"0 30 9 * Jan Mon", []string{"2027-01-04T09:30:00", "2027-01-11T09:30:00", "2027-01-18T09:30:00"}},
	{"0 0 0 * * 0", []string{"2026-11-29T00:00:00", "2026-12-06T00:00:00", "2026-12-13T00:00:00"}},
	{"*/15 * * * * *", []string{"2026-11-23T12:00:15", "2026-11-23T12:00:30", "2026-11-23T12:00:45"}},
	{"0 0 0 1 * *", []string{"2026-12-01T00:00:00", "2027-01-01T00:00:00", "2027-02-01T00:00:00"}},
	{"0 0 0 1 1 *", []string{"2027-01-01T00:00:00", "2028-01-01T00:00:00", "2029-01-01T00:00:00"}},
	{"0 0 12 * * MON-FRI", []string{"2026-11-24T12:00:00", "2026-11-25T12:00:00", "2026-11-26T12:00:00"}},
	{"0 0,15,30,45 * * * *", []string{"2026-11-23T12:15:00", "2026-11-23T12:30:00", "2026-11-23T12:45:00"}},
	{"5 * * * *", []string{"2026-11-23T12:05:00", "2026-11-23T13:05:00", "2026-11-23T14:05:00"}},
	{"*/10 * * * *", []string{"2026-11-23T12:10:00", "2026-11-23T12:20:00", "2026-11-23T12:30:00"}},
	{"0 0 0 29 2 *", []string{"2028-02-29T00:00:00", "2032-02-29T00:00:00", "2036-02-29T00:00:00"}},
	{"0 0 0 31 * *", []string{"2026-12-31T00:00:00", "2027-01-31T00:00:00", "2027-03-31T00:00:00"}},
	{"0 0 0 13 * FRI", []string{"2027-08-13T00:00:00", "2028-10-13T00:00:00", "2029-04-13T00:00:00"}},
	{"0 0 0 1-7 * MON", []string{"2026-12-07T00:00:00", "2027-01-04T00:00:00", "2027-02-01T00:00:00"}},
	{"0 0 0 * * sun,sat", []string{"2026-11-28T00:00:00", "2026-11-29T00:00:00", "2026-12-05T00:00:00"}},
	{"0 0 0 * * FRI-MON", []string{"2026-11-24T00:00:00", "2026-11-25T00:00:00", "2026-11-26T00:00:00"}},
	{"10-50/20 * * * * *", []string{"2026-11-23T12:00:10", "2026-11-23T12:00:30", "2026-11-23T12:00:50"}},
	{"30/15 * * * * *", []string{"2026-11-23T12:00:30", "2026-11-23T12:00:45", "2026-11-23T12:01:30"}},
	{"0 */0 * * * *", []string{"2026-11-23T12:01:00", "2026-11-23T12:02:00", "2026-11-23T12:03:00"}},
	{"0 0 */6 * * *", []string{"2026-11-23T18:00:00", "2026-11-24T00:00:00", "2026-11-24T06:00:00"}},
	{"0 5 4 * * *", []string{"2026-11-24T04:05:00", "2026-11-25T04:05:00", "2026-11-26T04:05:00"}},
	{"0 0 22 * * 1-5", []string{"2026-11-23T22:00:00", "2026-11-24T22:00:00", "2026-11-25T22:00:00"}},
	{"0 0 0 * Feb *", []string{"2027-02-01T00:00:00", "2027-02-02T00:00:00", "2027-02-03T00:00:00"}},
	{"  0  0  0 * * *  ", []string{"2026-11-24T00:00:00", "2026-11-25T00:00:00", "2026-11-26T00:00:00"}},
	{"0 0 0 * * t", []string{"2026-11-24T00:00:00", "2026-12-01T00:00:00", "2026-12-08T00:00:00"}},
	{"0 0 0 1 ma *", []string{"2027-03-01T00:00:00", "2028-03-01T00:00:00", "2029-03-01T00:00:00"}},
	{"00:05:00", []string{"2026-11-23T12:05:00", "2026-11-23T12:10:00", "2026-11-23T12:15:00"}},
	{"1.00:00:00", []string{"2026-11-24T12:00:00", "2026-11-25T12:00:00", "2026-11-26T12:00:00"}},
	{"02:30", []string{"2026-11-23T14:30:00", "2026-11-23T17:00:00", "2026-11-23T19:30:00"}},
	{"1:00:00:30", []string{"2026-11-24T12:00:30", "2026-11-25T12:01:00", "2026-11-26T12:01:30"}},
}

func TestNext(t *testing.T) {
	for _, c := range nextCases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		at := base
		for i, w := range c.want {
			at = s.Next(at)
			if got := at.Format("2006-01-02T15:04:05"); got != w {
				t.Errorf("%q occurrence %d: got %s, want %s", c.expr, i+1, got, w)
				break
			}
		}
	}
}

// NCrontab, unlike Vixie cron, ANDs day-of-month and day-of-week when both
// are restricted: "0 0 0 1-7 * MON" is the first Monday of a month, not
// "days 1-7 and every Monday". From Monday 2026-11-23, Vixie cron would
// fire next on Monday 2026-11-30; NCrontab (and we) on Monday 2026-12-07.
func TestDayOfMonthAndDayOfWeekAreANDed(t *testing.T) {
	s, err := Parse("0 0 0 1-7 * MON")
	if err != nil {
		t.Fatal(err)
	}
	at := base
	for i := 0; i < 24; i++ {
		at = s.Next(at)
		if at.Weekday() != time.Monday || at.Day() > 7 {
			t.Fatalf("occurrence %s is not the first Monday of its month", at)
		}
	}
	if got := s.Next(base); !got.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("next = %s, want 2026-12-07 (Vixie cron would say 2026-11-30)", got)
	}
}

func TestFiveFieldsMeanSecondZero(t *testing.T) {
	pairs := [][2]string{{"*/10 * * * *", "0 */10 * * * *"}, {"30 9 * * MON", "0 30 9 * * MON"}, {"0 0 1 1 *", "0 0 0 1 1 *"}}
	for _, p := range pairs {
		five, err1 := Parse(p[0])
		six, err2 := Parse(p[1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		a, b := base, base
		for i := 0; i < 20; i++ {
			a, b = five.Next(a), six.Next(b)
			if !a.Equal(b) {
				t.Fatalf("%q vs %q: %s != %s", p[0], p[1], a, b)
			}
		}
	}
}

func TestNextIsStrictlyAfterAndIgnoresFraction(t *testing.T) {
	s, _ := Parse("* * * * * *")
	cases := []struct{ at, want time.Time }{
		{base, base.Add(time.Second)},
		{base.Add(500 * time.Millisecond), base.Add(time.Second)},
		{base.Add(999 * time.Millisecond), base.Add(time.Second)},
	}
	for _, c := range cases {
		if got := s.Next(c.at); !got.Equal(c.want) {
			t.Errorf("Next(%s) = %s, want %s", c.at.Format(time.StampMilli), got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"0 */5 * * * xyz", `schedule "0 */5 * * * xyz": day-of-week field "xyz": "xyz" is not a day-of-week name (SUN-SAT)`},
		{"0 0 0 * * 7", `day-of-week field "7": 7 is above the maximum 6`},
		{"60 * * * * *", `second field "60": 60 is above the maximum 59`},
		{"0 60 * * * *", `minute field "60"`},
		{"0 0 24 * * *", `hour field "24": 24 is above the maximum 23`},
		{"0 0 0 0 * *", `day field "0": 0 is below the minimum 1`},
		{"0 0 0 32 * *", `day field "32"`},
		{"0 0 0 * 13 *", `month field "13"`},
		{"0 0 0 * Foo *", `month field "Foo": "Foo" is not a month name (JAN-DEC)`},
		{"0 0 0 L * *", `day field "L": "L" is not a number between 1 and 31`},
		{"0 0 0 * * MON#1", `day-of-week field "MON#1"`},
		{"0 0 0 ? * *", `day field "?"`},
		{"*/x * * * * *", `second field "*/x": step "x" is not an integer`},
		{"1,,2 * * * * *", `second field "1,,2": empty value in list`},
		{"1, * * * * *", `second field "1,"`},
		{",1 * * * * *", `second field ",1"`},
		{"1-2-3 * * * * *", `second field "1-2-3"`},
		{"* * * *", `4 fields: want 6`},
		{"* * * * * * *", `7 fields: want 6`},
		{"0 0 0 30 2 *", `never fires`},
		{"0 0 0 31 4,6,9,11 *", `never fires`},
		{"", `not a TimeSpan: days "" is not a number`},
		{"every night", `2 fields: want 6`},
		{"24:00:00", `hours 24 is above 23 (write 1.00:00:00 for one day)`},
		{"00:60:00", `minutes 60 is above 59`},
		{"00:00:60", `seconds 60 is above 59`},
		{"-00:05:00", `negative`},
		{"00:00:00", `longer than zero`},
		{"00:00:01.12345678", `fraction "12345678": want 1 to 7 digits`},
		{"1:2:3:4:5", `5 ':'-separated parts`},
		{"abc", `days "abc" is not a number`},
	}
	for _, c := range cases {
		_, err := Parse(c.expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v is not a *SyntaxError", c.expr, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "schedule ") {
			t.Errorf("%q:\n got  %v\n want ...%s...", c.expr, err, c.want)
		}
	}
}

func TestTimeSpanForms(t *testing.T) {
	cases := []struct {
		expr string
		want time.Duration
	}{
		{"00:00:01", time.Second},
		{"00:05:00", 5 * time.Minute},
		{"01:00:00", time.Hour},
		{"23:59:59", 24*time.Hour - time.Second},
		{"00:05", 5 * time.Minute},
		{"1.00:00:00", 24 * time.Hour},
		{"2.03:04:05", 51*time.Hour + 4*time.Minute + 5*time.Second},
		{"1.02:03", 26*time.Hour + 3*time.Minute},
		{"1:02:03:04", 26*time.Hour + 3*time.Minute + 4*time.Second},
		{"00:00:00.5", 500 * time.Millisecond},
		{"00:00:01.0000001", time.Second + 100*time.Nanosecond},
		{"7", 7 * 24 * time.Hour},
		{" 00:10:00 ", 10 * time.Minute},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if d, ok := s.Interval(); !ok || d != c.want {
			t.Errorf("%q: interval %v %v, want %v", c.expr, d, ok, c.want)
		}
	}
}

func TestSubMinute(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{"* * * * * *", true}, {"*/30 * * * * *", true}, {"0,59 0 * * * *", true},
		{"0 * * * * *", false}, {"30 */5 * * * *", false}, {"* * * * *", false},
		{"00:00:30", true}, {"00:00:59.9", true}, {"00:01:00", false}, {"01:00:00", false},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.SubMinute(); got != c.want {
			t.Errorf("%q: SubMinute %v, want %v", c.expr, got, c.want)
		}
	}
}

// Azure's CronSchedule.IsInterval, computed on NCrontab's expanded form.
func TestIsInterval(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{"0 */30 * * * *", true}, {"0 30 1 * * *", false}, {"0 0,15,30,45 1 * * *", false},
		{"0 30 1-2 * * *", true}, {"0 30 1,2 * * *", true}, {"* 30 1 * * *", true},
		{"30 1 * * *", false}, {"* 1 * * *", true}, {"*/5 1 * * *", false},
	}
	for _, c := range cases {
		s, err := Parse(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.cron.isInterval(); got != c.want {
			t.Errorf("%q: isInterval %v, want %v", c.expr, got, c.want)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	for _, expr := range []string{"0 */5 * * * *", "0 0 0 29 2 MON", "59 59 23 31 12 *"} {
		s, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s.Next(base)
			}
		})
	}
}
