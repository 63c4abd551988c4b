package schedule

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	settings := map[string]string{"Cron": "0 */5 * * * *", "Minute": "15", "Empty": ""}
	lookup := func(k string) (string, bool) { v, ok := settings[k]; return v, ok }
	cases := []struct{ in, want, err string }{
		{"%Cron%", "0 */5 * * * *", ""},
		{"0 %Minute% * * * *", "0 15 * * * *", ""},
		{"0 0 * * * *", "0 0 * * * *", ""},
		{"%Empty%", "", ""},
		{"%Missing%", "", `app setting "Missing" is not set`},
		{"0 %Minute * * * *", "", `the '%' at position 2 has no closing '%'`},
		{"%%", "", `app setting "" is not set`},
	}
	for _, c := range cases {
		got, err := Resolve(c.in, lookup)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestLocationFromSettings(t *testing.T) {
	cases := []struct {
		settings map[string]string
		want     string
		err      string
	}{
		{map[string]string{}, "UTC", ""},
		{map[string]string{"WEBSITE_TIME_ZONE": "Europe/Paris", "TZ": "Asia/Tokyo"}, "Europe/Paris", ""},
		{map[string]string{"TZ": "Asia/Tokyo"}, "Asia/Tokyo", ""},
		{map[string]string{"WEBSITE_TIME_ZONE": "Eastern Standard Time"}, "America/New_York", ""},
		{map[string]string{"WEBSITE_TIME_ZONE": "Mars/Olympus"}, "", `app setting WEBSITE_TIME_ZONE="Mars/Olympus": unknown time zone`},
	}
	for _, c := range cases {
		loc, err := LocationFromSettings(func(k string) (string, bool) { v, ok := c.settings[k]; return v, ok })
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want %q", c.settings, err, c.err)
			}
			continue
		}
		if err != nil || loc.String() != c.want {
			t.Errorf("%v: got %v, %v; want %s", c.settings, loc, err, c.want)
		}
	}
}
