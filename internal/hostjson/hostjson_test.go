package hostjson

import (
	"encoding/json"
	"testing"
	"time"
)

func TestUtcNowFormat(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 5, 10, 16, 13, 47, 175635200, time.UTC), "2024-05-10T16:13:47.1756352Z"},
		{time.Date(2023, 9, 7, 11, 40, 45, 4275000, time.UTC), "2023-09-07T11:40:45.004275Z"},
		{time.Date(2023, 9, 7, 11, 40, 45, 0, time.UTC), "2023-09-07T11:40:45Z"},
		{time.Date(2023, 9, 7, 11, 40, 45, 123456789, time.FixedZone("x", 3600)), "2023-09-07T10:40:45.1234567Z"},
	}
	for _, tt := range tests {
		if got := UTCNow(tt.t); got != tt.want {
			t.Errorf("UTCNow(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

func TestNetConversions(t *testing.T) {
	quotes := map[string]string{
		"plain":          `"plain"`,
		"a\"b\\c":        `"a\"b\\c"`,
		"<&>":            `"<&>"`,
		"\b\f\n\r\t\x01": `"\b\f\n\r\t\u0001"`,
		"\u2028\u0085é":  `"\u2028\u0085é"`,
		"bad\xffutf8":    "\"bad\uFFFDutf8\"",
	}
	for in, want := range quotes {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	numbers := map[string]string{
		"12": "12", "-0": "0", "123456789012345678901234567890": "123456789012345678901234567890",
		"1.5": "1.5", "1.0": "1", "1e3": "1000", "1e15": "1E+15", "1e14": "100000000000000",
		"0.0001": "0.0001", "0.00001": "1E-05", "-2.5e-7": "-2.5E-07", "-0.0": "-0",
		"1.2345678901234567e20": "1.2345678901234567E+20",
	}
	for in, want := range numbers {
		if got := Number(in); got != want {
			t.Errorf("Number(%s) = %s, want %s", in, got, want)
		}
	}
	dates := map[string]string{
		"2024-04-06T15:30:00Z":      "04/06/2024 15:30:00",
		"2024-04-06T15:30:00.123":   "04/06/2024 15:30:00",
		"2024-04-06T15:30:00-05:00": "04/06/2024 20:30:00",
		"2024-04-06":                "2024-04-06",
		"2024-04-06 15:30:00":       "2024-04-06 15:30:00",
		"not a date at all, really": "not a date at all, really",
	}
	for in, want := range dates {
		if got := DateString(in); got != want {
			t.Errorf("DateString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"Id":1}`, `{"Id":1}`},
		{`{ "a" : [1, 2] }`, `{"a":[1,2]}`},
		{`"{\"Id\":1}"`, `"\"{\\\"Id\\\":1}\""`},
		{`"hello"`, `"\"hello\""`},
		{`5`, `"5"`},
		{`1.0`, `"1.0"`},
		{`true`, `"true"`},
		{`null`, `"null"`},
		{`[{"b":"<x>","a":2.5}]`, `"[{\"a\":2.5,\"b\":\"\u003cx\u003e\"}]"`},
	}
	for _, tt := range tests {
		if got := string(Value(json.RawMessage(tt.in))); got != tt.want {
			t.Errorf("Value(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := string(Bytes([]byte{0, 1, 0xff})); got != `"AAH/"` {
		t.Errorf("Bytes = %s", got)
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `"x"`, `[1,"2",{"3":null}]`, `1e400`, `-0.0`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid(Value(json.RawMessage(in))) {
			t.Fatalf("Value(%q) is not JSON", in)
		}
	})
}

// TestStringFastPathAgrees: String's unescaped path gives what Quote and
// json.Marshal give.
func TestStringFastPathAgrees(t *testing.T) {
	for _, s := range []string{"", "ada", "4434c659-1b0c-4c1b-9c4e-2d9b1f0f3b2a", "AAAAAAAAAAE=", "a b~", "a\"b", `a\b`, "<a>", "a&b", "é", "\x7f", "\n"} {
		want, _ := json.Marshal(Quote(s))
		if got := String(s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

// TestOffsetTimeForm: whole seconds, +00:00, quoted.
func TestOffsetTimeForm(t *testing.T) {
	got := OffsetTime(time.Date(2024, 5, 17, 16, 13, 45, 999_000_000, time.FixedZone("x", 3600)))
	if string(got) != `"2024-05-17T15:13:45+00:00"` {
		t.Fatalf("%s", got)
	}
}
