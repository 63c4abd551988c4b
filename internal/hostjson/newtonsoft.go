package hostjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file reproduces the few Json.NET (Newtonsoft) conversions that shape
// what the Azure Functions host sends a custom handler, so that handlers
// written against Azure see the same strings here.

// Quote is JsonConvert.SerializeObject(string): a JSON string literal
// with Json.NET's default escaping (named escapes for \b \f \n \r \t,
// lowercase \u00xx for other control characters and for U+0085, U+2028
// and U+2029; '<', '>' and '&' left alone). Invalid UTF-8 becomes U+FFFD,
// as .NET's UTF-8 decoding does.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s { // range yields U+FFFD for each invalid byte
		writeNetRune(&b, r)
	}
	b.WriteByte('"')
	return b.String()
}

func writeNetRune(b *strings.Builder, r rune) {
	switch r {
	case '"':
		b.WriteString(`\"`)
	case '\\':
		b.WriteString(`\\`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	default:
		if r < 0x20 || r == 0x85 || r == 0x2028 || r == 0x2029 {
			fmt.Fprintf(b, `\u%04x`, r)
			return
		}
		if r == utf8.RuneError {
			b.WriteRune(utf8.RuneError)
			return
		}
		b.WriteRune(r)
	}
}

// Property is one top-level member of a JSON object, in document order.
type Property struct {
	Name  string
	Value json.RawMessage
}

// BindingProperties reproduces the host's ApplyBindingData for a JSON
// message: each top-level property becomes binding data; arrays and nulls
// are dropped, objects stay objects, every other value becomes its .NET
// string form (so numbers and booleans turn into strings, ISO dates into
// "MM/dd/yyyy HH:mm:ss"). Only text starting with '{' and ending with '}'
// after trimming is considered, as in the host's Utility.IsJson.
func BindingProperties(body []byte) []Property {
	t := bytes.TrimSpace(body)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil
	}
	props, err := objectMembers(t)
	if err != nil {
		return nil // the host ignores messages it cannot parse
	}
	var out []Property
	for _, p := range props {
		if v, ok := bindingValue(p.Value); ok {
			out = append(out, Property{p.Name, v})
		}
	}
	return out
}

// objectMembers lists a JSON object's members in order.
func objectMembers(obj []byte) ([]Property, error) {
	if !json.Valid(obj) {
		return nil, fmt.Errorf("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, err
	}
	var props []Property
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		props = append(props, Property{tok.(string), v})
	}
	return props, nil
}

// bindingValue converts one property value; ok is false when the host
// would drop it.
func bindingValue(v json.RawMessage) (json.RawMessage, bool) {
	switch v[0] {
	case 'n', '[':
		return nil, false
	case '{':
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			return nil, false
		}
		return buf.Bytes(), true
	case 't':
		return String("True"), true
	case 'f':
		return String("False"), true
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return String(DateString(s)), true
	default:
		return String(Number(string(v))), true
	}
}

// String is JsonConvert.SerializeObject(s) carried as a JSON string value.
func String(s string) json.RawMessage {
	if plain(s) { // nothing to escape at either level: "\"s\""
		out := make([]byte, 0, len(s)+6)
		out = append(out, `"\"`...)
		out = append(out, s...)
		return append(out, `\""`...)
	}
	out, _ := json.Marshal(Quote(s))
	return out
}

// plain reports whether s is printable ASCII that neither Quote nor
// json.Marshal escapes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Number is (string)JValue for a JSON number: integers print in full,
// other numbers as .NET prints a double.
func Number(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if n, ok := new(big.Int).SetString(lit, 10); ok {
			return n.String()
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return netDouble(f)
}

// netDouble formats like .NET Core 3.0+ double.ToString(InvariantCulture):
// shortest round-trip digits, scientific ("1E+15", "1E-05") when the
// decimal exponent is at least 15 or at most -5.
func netDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "∞"
	case math.IsInf(f, -1):
		return "-∞"
	case f == 0 && math.Signbit(f):
		return "-0"
	case f == 0:
		return "0"
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, expStr, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp >= 15 || exp <= -5 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%sE%s%02d", mant, sign, exp)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// DateString returns s, or when Json.NET would have read s as a date
// (ISO 8601 "yyyy-MM-ddTHH:mm:ss[.f][Z|±hh[:mm]]"), that date printed as
// Convert.ToString(DateTime, InvariantCulture). Dates with an offset are
// converted to local time by Json.NET; Azure hosts run in UTC, so UTC here.
func DateString(s string) string {
	t, ok := parseNetISODate(s)
	if !ok {
		return s
	}
	return t.Format("01/02/2006 15:04:05")
}

func parseNetISODate(s string) (time.Time, bool) {
	if len(s) < 19 || len(s) > 40 || s[0] < '0' || s[0] > '9' || s[10] != 'T' {
		return time.Time{}, false
	}
	layouts := []string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999Z07",
		"2006-01-02T15:04:05.999999999",
	}
	trimmed := strings.TrimRight(s, " \t\r\n")
	for _, l := range layouts {
		if t, err := time.Parse(l, trimmed); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
