package queue

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOutputMessages(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr bool
	}{
		{name: "string is its contents", value: `"hello"`, want: []string{"hello"}},
		{name: "escaped string", value: `"a\"b\n"`, want: []string{"a\"b\n"}},
		{name: "object is its JSON text", value: `{ "a" : 1 }`, want: []string{`{"a":1}`}},
		{name: "number", value: ` 42 `, want: []string{`42`}},
		{name: "bool", value: `true`, want: []string{`true`}},
		{name: "array is one message each", value: `["a", {"b":2}, 3, ["x"], null]`, want: []string{"a", `{"b":2}`, "3", `["x"]`}},
		{name: "empty array writes nothing", value: `[]`, want: nil},
		{name: "null writes nothing", value: `null`, want: nil},
		{name: "empty string is one empty message", value: `""`, want: []string{""}},
		{name: "invalid JSON", value: `{`, wantErr: true},
		{name: "empty", value: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OutputMessages(json.RawMessage(tt.value))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %q", tt.value)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strs := toStrings(got); strings.Join(strs, "\x00") != strings.Join(tt.want, "\x00") || len(strs) != len(tt.want) {
				t.Fatalf("got %q, want %q", strs, tt.want)
			}
		})
	}
}

func toStrings(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func FuzzOutputMessages(f *testing.F) {
	for _, s := range []string{`"x"`, `[1,"a",{"b":[]}]`, `{"a":null}`, `null`, `[[]]`, `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		msgs, err := OutputMessages(json.RawMessage(in))
		if err != nil {
			return
		}
		if !json.Valid([]byte(in)) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		var v any
		_ = json.Unmarshal([]byte(in), &v)
		if arr, ok := v.([]any); ok && len(msgs) > len(arr) {
			t.Fatalf("%d messages from a %d-element array", len(msgs), len(arr))
		}
	})
}
