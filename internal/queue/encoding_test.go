package queue

import (
	"bytes"
	"testing"
)

func TestDecodeText(t *testing.T) {
	tests := []struct {
		text string
		enc  Encoding
		want string
		ok   bool
	}{
		{"aGVsbG8=", Base64, "hello", true},
		{"aGVs\r\nbG8= ", Base64, "hello", true}, // .NET ignores whitespace
		{"", Base64, "", true},
		{"hello", Base64, "", false}, // length not a multiple of 4
		{"aGVsbG8", Base64, "", false},
		{"not base64!", Base64, "", false},
		{"aGVsbG8=", None, "aGVsbG8=", true},
		{"anything at all", None, "anything at all", true},
	}
	for _, tt := range tests {
		got, err := decodeText([]byte(tt.text), tt.enc)
		if (err == nil) != tt.ok || string(got) != tt.want {
			t.Errorf("decodeText(%q, %s) = %q, %v; want %q ok=%v", tt.text, tt.enc, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzEncodingRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello", "\x00\xff", `{"a":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, enc := range []Encoding{Base64, None} {
			got, err := decodeText(encodeText(body, enc), enc)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s round trip of %q: %q, %v", enc, body, got, err)
			}
		}
		_, _ = decodeText(body, Base64) // arbitrary text never panics
	})
}
