package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Resolve replaces every %Name% in a schedule with the app setting Name,
// like the Azure host's ResolveWholeString: "%Cron%" becomes the setting's
// value, and "0 %Minute% * * * *" resolves just the token. A '%' without a
// closing '%' or a setting that lookup does not know is an error naming it.
func Resolve(schedule string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	rest := schedule
	for {
		start := strings.IndexByte(rest, '%')
		if start < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		end := strings.IndexByte(rest[start+1:], '%')
		if end < 0 {
			return "", fmt.Errorf("schedule %q: the '%%' at position %d has no closing '%%'", schedule, len(schedule)-len(rest)+start)
		}
		name := rest[start+1 : start+1+end]
		value, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("schedule %q: app setting %q is not set ('%%%s%%' does not resolve to a value)", schedule, name, name)
		}
		b.WriteString(rest[:start])
		b.WriteString(value)
		rest = rest[start+end+2:]
	}
}

// LocationFromSettings returns the time zone Azure would evaluate timers
// in: the app setting WEBSITE_TIME_ZONE, else TZ, else UTC. IANA names
// (Linux, "Europe/Paris") and the common Windows names ("W. Europe
// Standard Time") are understood.
func LocationFromSettings(lookup func(string) (string, bool)) (*time.Location, error) {
	for _, key := range []string{"WEBSITE_TIME_ZONE", "TZ"} {
		name, ok := lookup(key)
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		loc, err := loadZone(name)
		if err != nil {
			return nil, fmt.Errorf("app setting %s=%q: %w", key, name, err)
		}
		return loc, nil
	}
	return time.UTC, nil
}

func loadZone(name string) (*time.Location, error) {
	if iana, ok := windowsZones[name]; ok {
		name = iana
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone (use an IANA name such as Europe/Paris): %w", err)
	}
	return loc, nil
}

// windowsZones maps the Windows zone ids most used in WEBSITE_TIME_ZONE to
// IANA names (from CLDR's windowsZones.xml, territory 001).
var windowsZones = map[string]string{
	"UTC":                            "UTC",
	"GMT Standard Time":              "Europe/London",
	"Greenwich Standard Time":        "Atlantic/Reykjavik",
	"W. Europe Standard Time":        "Europe/Berlin",
	"Central Europe Standard Time":   "Europe/Budapest",
	"Central European Standard Time": "Europe/Warsaw",
	"Romance Standard Time":          "Europe/Paris",
	"E. Europe Standard Time":        "Europe/Chisinau",
	"FLE Standard Time":              "Europe/Kiev",
	"GTB Standard Time":              "Europe/Bucharest",
	"Russian Standard Time":          "Europe/Moscow",
	"Eastern Standard Time":          "America/New_York",
	"Central Standard Time":          "America/Chicago",
	"Mountain Standard Time":         "America/Denver",
	"US Mountain Standard Time":      "America/Phoenix",
	"Pacific Standard Time":          "America/Los_Angeles",
	"Alaskan Standard Time":          "America/Anchorage",
	"Hawaiian Standard Time":         "Pacific/Honolulu",
	"Atlantic Standard Time":         "America/Halifax",
	"E. South America Standard Time": "America/Sao_Paulo",
	"India Standard Time":            "Asia/Calcutta",
	"China Standard Time":            "Asia/Shanghai",
	"Tokyo Standard Time":            "Asia/Tokyo",
	"Korea Standard Time":            "Asia/Seoul",
	"Singapore Standard Time":        "Asia/Singapore",
	"Arabian Standard Time":          "Asia/Dubai",
	"AUS Eastern Standard Time":      "Australia/Sydney",
	"New Zealand Standard Time":      "Pacific/Auckland",
	"South Africa Standard Time":     "Africa/Johannesburg",
}
