package route

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The checks below follow .NET's invariant-culture TryParse rules, which
// ASP.NET Core's route constraints use: int/long with NumberStyles.Integer,
// decimal with NumberStyles.Number, double/float with NumberStyles.Float |
// AllowThousands (since .NET Core 3.0 an overflowing double or float parses
// as infinity, so only the syntax matters).

// isNumberSpace is .NET's IsWhite for number parsing: tab..CR and space.
func isNumberSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func trimNumber(s string) string {
	i, j := 0, len(s)
	for i < j && isNumberSpace(s[i]) {
		i++
	}
	for j > i && s[j-1] == 0 {
		j-- // .NET tolerates trailing NUL characters
	}
	for j > i && isNumberSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// parseInteger parses [ws][+|-]digits[ws] into a signed integer of bits bits.
func parseInteger(v string, bits int) (int64, bool) {
	s := trimNumber(v)
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, bits)
	return n, err == nil
}

func isInteger(v string, bits int) bool {
	_, ok := parseInteger(v, bits)
	return ok
}

type numberStyle struct {
	trailingSign bool
	exponent     bool
}

// scanNumber checks the syntax of a .NET number and returns its integer
// digits (group separators removed).
func scanNumber(v string, st numberStyle) (intDigits string, ok bool) {
	s := trimNumber(v)
	signed := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		signed, s = true, s[1:]
	}
	var b strings.Builder
	i, frac, seen := 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if !frac {
				b.WriteByte(c)
			}
		case c == ',' && seen && !frac:
		case c == '.' && !frac:
			frac = true
		default:
			goto done
		}
	}
done:
	if !seen {
		return "", false
	}
	if st.exponent {
		i += exponentLen(s[i:])
	}
	rest := s[i:]
	if st.trailingSign && !signed && rest != "" && (rest[0] == '+' || rest[0] == '-') {
		rest = trimNumber(rest[1:])
	}
	return b.String(), rest == ""
}

// exponentLen is the length of an exponent ("e+10") at the start of s, or
// 0 when there is no complete one (.NET then leaves the 'e' unparsed).
func exponentLen(s string) int {
	if s == "" || (s[0] != 'e' && s[0] != 'E') {
		return 0
	}
	j := 1
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == j {
		return 0
	}
	return k
}

const maxDecimal = "79228162514264337593543950335"

func isDecimal(v string) bool {
	digits, ok := scanNumber(v, numberStyle{trailingSign: true})
	if !ok {
		return false
	}
	digits = strings.TrimLeft(digits, "0")
	return len(digits) < len(maxDecimal) || (len(digits) == len(maxDecimal) && digits <= maxDecimal)
}

func isFloat(v string) bool {
	if _, ok := scanNumber(v, numberStyle{exponent: true}); ok {
		return true
	}
	switch strings.ToLower(trimNumber(v)) {
	case "nan", "+nan", "-nan", "infinity", "+infinity", "-infinity":
		return true
	}
	return false
}

func isBool(v string) bool {
	s := strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == 0 })
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}

var guidForms = []*regexp.Regexp{
	regexp.MustCompile(`^[0-9a-fA-F]{32}$`),
	regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
	regexp.MustCompile(`^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$`),
	regexp.MustCompile(`^\([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\)$`),
	regexp.MustCompile(`^\{0[xX][0-9a-fA-F]{1,8},0[xX][0-9a-fA-F]{1,4},0[xX][0-9a-fA-F]{1,4},\{(0[xX][0-9a-fA-F]{1,2},){7}0[xX][0-9a-fA-F]{1,2}\}\}$`),
}

// isGUID accepts Guid.TryParse's N, D, B, P and X forms.
func isGUID(v string) bool {
	s := strings.TrimFunc(v, unicode.IsSpace)
	for i, re := range guidForms {
		if i == len(guidForms)-1 {
			s = strings.Join(strings.Fields(s), "") // X form ignores inner spaces
		}
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// dateLayouts approximate DateTime.TryParse with the invariant culture for
// values that fit in one path segment: ISO 8601 dates and date-times (with
// an optional zone), month-day-year with '-', and times of day.
var dateLayouts = func() []string {
	var out []string
	for _, d := range []string{"2006-1-2", "1-2-2006"} {
		out = append(out, d)
		for _, sep := range []string{"T", " "} {
			for _, tm := range []string{"15:4", "15:4:5"} {
				out = append(out, d+sep+tm, d+sep+tm+"Z07:00")
			}
			out = append(out, d+sep+"3:4 PM", d+sep+"3:4:5 PM")
		}
	}
	return append(out, "2006-1", "15:4", "15:4:5", "3:4 PM", "3:4:5 PM")
}()

func isDateTime(v string) bool {
	s := strings.TrimSpace(v)
	for _, l := range dateLayouts {
		if _, err := time.Parse(l, s); err == nil {
			return true
		}
	}
	return false
}
