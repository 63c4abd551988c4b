// Package hostjson reproduces how the Azure Functions host turns the values
// of a custom-handler invocation into JSON. The host passes every non-HTTP
// input and every metadata value through
// ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue
// (src/WebJobs.Script/Workers/MessageExtensions), whose rule is:
//
//   - byte[]: base64 text (the bytes themselves when the binding's
//     dataType is binary, which Json.NET then also writes as base64);
//   - DateTime and DateTimeOffset: the value re-parsed from its text (so to
//     the second), written as an ISO 8601 date;
//   - anything JObject.FromObject accepts (a POCO, a JObject, a
//     dictionary): a JSON object;
//   - anything else (a string, a number, a boolean, a JArray, null):
//     JsonConvert.SerializeObject(value), carried as a JSON string. So the
//     string {"Id":1} reaches the handler as "{\"Id\":1}" with its quotes,
//     and the number 5 as "5".
//
// Tandem's binders produce JSON values; Value applies the rule to them, and
// the helpers below print .NET dates and numbers as Json.NET does.
package hostjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Value applies the host's rule to a value Tandem holds as JSON: an object
// stays an object; a string, number, boolean, array or null becomes its
// Json.NET serialization carried as a JSON string.
func Value(v json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return String("")
	}
	switch t[0] {
	case '{':
		var buf bytes.Buffer
		if json.Compact(&buf, t) == nil {
			return buf.Bytes()
		}
		return String(string(t))
	case '"':
		var s string
		if json.Unmarshal(t, &s) == nil {
			return String(s)
		}
	}
	out, err := Serialize(t)
	if err != nil {
		out = string(t)
	}
	b, _ := json.Marshal(out)
	return b
}

// Text is the rule for a string value: its Json.NET serialization as a
// JSON string.
func Text(s string) json.RawMessage { return String(s) }

// Bytes is the rule for a byte[] value: base64 text as a JSON string (the
// same whether the binding's dataType is binary or not, since Json.NET
// writes byte[] as base64).
func Bytes(b []byte) json.RawMessage {
	out, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
	return out
}

// Serialize re-serializes a JSON value as JsonConvert.SerializeObject writes
// a JToken: compact, strings escaped as Quote does, integers in full and
// other numbers as .NET prints a double (with ".0" when integral).
func Serialize(v json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", fmt.Errorf("hostjson serialize: %w", err)
	}
	var b strings.Builder
	writeToken(&b, x)
	return b.String(), nil
}

func writeToken(b *strings.Builder, x any) {
	switch t := x.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case string:
		b.WriteString(Quote(t))
	case json.Number:
		b.WriteString(serializeNumber(string(t)))
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeToken(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		writeObject(b, t)
	}
}

// writeObject writes members in sorted order: Go's decoder loses document
// order, which parsed comparisons ignore.
func writeObject(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Quote(k))
		b.WriteByte(':')
		writeToken(b, m[k])
	}
	b.WriteByte('}')
}

func serializeNumber(lit string) string {
	n := Number(lit)
	if strings.ContainsAny(lit, ".eE") && !strings.ContainsAny(n, ".E") {
		return n + ".0"
	}
	return n
}

// OffsetTime prints a DateTimeOffset as the host sends it after its
// DateTimeOffset.Parse(value.ToString()) round trip: whole seconds, the
// UTC offset spelled +00:00 (Azure hosts run in UTC).
func OffsetTime(t time.Time) json.RawMessage {
	b := make([]byte, 0, len(`"2006-01-02T15:04:05+00:00"`))
	b = append(b, '"')
	b = t.UTC().Truncate(time.Second).AppendFormat(b, "2006-01-02T15:04:05")
	return append(b, `+00:00"`...)
}

// UTCNow prints a UTC DateTime as Json.NET does: up to 7 fraction digits,
// trailing zeros dropped, "Z".
func UTCNow(t time.Time) string {
	return t.UTC().Truncate(100 * time.Nanosecond).Format("2006-01-02T15:04:05.9999999Z")
}

// Sys is the "sys" metadata object every trigger carries (the host's
// SystemBindingData through JObject.FromObject).
func Sys(methodName string, now time.Time) json.RawMessage {
	out, _ := json.Marshal(struct {
		MethodName string
		UtcNow     string
		RandGuid   string
	}{methodName, UTCNow(now), NewGUID()})
	return out
}
