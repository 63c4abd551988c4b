package invoke

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// TestPayloadCopiesBodyOnce: building a payload-mode request from an HTTP
// request body allocates about twice the body (the body read once, then
// escaped once into the trigger value), not five and a half times as
// before (string copies and one more JSON buffer per layer).
func TestPayloadCopiesBodyOnce(t *testing.T) {
	const size = 8 << 20
	body := bytes.Repeat([]byte("tandem \"body\"\n"), size/14)
	r, _ := http.NewRequest("POST", "http://h/api/x", bytes.NewReader(body))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	trig, err := NewHTTPTrigger(r, nil, 100<<20)
	if err != nil {
		t.Fatal(err)
	}
	value, _ := trig.MarshalJSON()
	parts, err := Payload{Data: map[string]json.RawMessage{"req": value}, Metadata: map[string]any{"sys": "x"}}.encode()
	if err != nil {
		t.Fatal(err)
	}
	var sent countWriter
	if _, err := io.Copy(&sent, parts.reader()); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	ratio := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(body))
	t.Logf("allocated %.2f x the body to build a %d-byte payload", ratio, sent)
	if ratio > 2.6 {
		t.Fatalf("allocated %.2f x the body, want at most 2.6", ratio)
	}
	var p struct {
		Data struct{ Req struct{ Body string } }
	}
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, parts.reader())
	if err := json.Unmarshal(buf.Bytes(), &p); err != nil || p.Data.Req.Body != string(body) {
		t.Fatalf("payload does not carry the body: %v (%d bytes)", err, len(p.Data.Req.Body))
	}
	if int64(buf.Len()) != parts.size() {
		t.Fatalf("size %d, sent %d", parts.size(), buf.Len())
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestBodyEscaping: the hand-written escaper gives the same string back
// through encoding/json for every byte class.
func TestBodyEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\t\r\n", "<html>&amp;", "héllo \u2028 wörld", strings.Repeat("x", 1000)} {
		r, _ := http.NewRequest("POST", "http://h/x", strings.NewReader(s))
		trig, err := NewHTTPTrigger(r, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := trig.MarshalJSON()
		var got struct{ Body *string }
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v: %s", s, err, b)
		}
		want, has := trig.Body()
		if (got.Body != nil) != has || has && *got.Body != want || has && want != s {
			t.Fatalf("%q: body %v", s, got.Body)
		}
	}
}

// The parts reader gives the same bytes by Read and by WriteTo, and each
// reader starts from the beginning (a retried request gets the whole body).
func TestPartsReader(t *testing.T) {
	parts := bodyParts{[]byte(`{"a":`), nil, []byte(`1`), []byte(`}`)}
	want := `{"a":1}`
	var small []byte
	r := parts.reader()
	buf := make([]byte, 2)
	for {
		n, err := r.Read(buf)
		small = append(small, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	var sb strings.Builder
	if _, err := parts.reader().(io.WriterTo).WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	if string(small) != want || sb.String() != want {
		t.Fatalf("Read gave %q, WriteTo %q, want %q", small, sb.String(), want)
	}
}

// TestMetadataEncodingMatchesMarshal: the metadata object is written byte
// for byte as json.Marshal writes it, for every kind of value triggers
// put in it.
func TestMetadataEncodingMatchesMarshal(t *testing.T) {
	md := map[string]any{
		"Id":       json.RawMessage(`"\"4434c659-1b0c-4c1b-9c4e-2d9b1f0f3b2a\""`),
		"spaced":   json.RawMessage("{ \"a\" : [1, 2] }"),
		"html":     json.RawMessage(`"<b>&amp;</b>"`),
		"sep":      json.RawMessage("\"\u2028\""),
		"empty":    json.RawMessage(nil),
		"plain":    "ada",
		"escaped":  "a\"b\\c\n<é>",
		"Headers":  map[string]string{"Content-Type": "text/plain", "X-A": "<1>"},
		"n":        float64(3),
		"<key>":    "v",
		"RetryCtx": struct{ RetryCount int }{2},
	}
	want, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := appendObject(&got, md); err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("got  %s\nwant %s", got.String(), want)
	}
	if err := appendObject(&got, map[string]any{"bad": json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid raw value accepted")
	}
}
