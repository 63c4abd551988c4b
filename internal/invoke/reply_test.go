package invoke

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/hostjson"
)

func TestParseHTTPOutput(t *testing.T) {
	cases := []struct {
		name, in    string
		code        int
		body        string
		header, val string
		err         string
	}{
		{"number status", `{"statusCode":201,"body":"made"}`, 201, "made", "", "", ""},
		{"string status", `{"statusCode":"404","body":"gone"}`, 404, "gone", "", "", ""},
		{"no status", `{"body":"x"}`, 200, "x", "", "", ""},
		{"status alias", `{"status":302,"headers":{"Location":"/x"}}`, 302, "", "Location", "/x", ""},
		{"object body is JSON", `{"statusCode":200,"body":{"a":1}}`, 200, `{"a":1}`, "Content-Type", "application/json; charset=utf-8", ""},
		{"header list", `{"headers":{"Set-Cookie":["a=1","b=2"]}}`, 200, "", "Set-Cookie", "a=1", ""},
		{"header number", `{"headers":{"X-Count":3}}`, 200, "", "X-Count", "3", ""},
		{"base64-looking string stays text", `{"body":"test"}`, 200, "test", "", "", ""},
		{"plain string value", `"hello"`, 200, "hello", "", "", ""},
		{"bad status", `{"statusCode":"teapot"}`, 0, "", "", "", `field "statusCode"`},
		{"status out of range", `{"statusCode":42}`, 0, "", "", "", `field "statusCode"`},
	}
	for _, c := range cases {
		r, err := ParseHTTPOutput(json.RawMessage(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v", c.name, err)
			}
			continue
		}
		if err != nil || r.StatusCode != c.code || string(r.Body) != c.body || (c.header != "" && r.Headers.Get(c.header) != c.val) {
			t.Errorf("%s: %+v %v", c.name, r, err)
		}
	}
}

func TestReplyOutputs(t *testing.T) {
	r, err := ParseReply([]byte(`{"outputs":{"Res":{"statusCode":200},"msg":null},"logs":["a","b"],"returnValue":"rv"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Output("res"); !ok {
		t.Error("case-insensitive output not found")
	}
	if _, ok := r.Output("msg"); ok {
		t.Error("null output counted")
	}
	if v, ok := r.Output("$return"); !ok || string(v) != `"rv"` {
		t.Errorf("$return %s", v)
	}
	if len(r.Logs) != 2 {
		t.Errorf("logs %v", r.Logs)
	}
	if _, err := ParseReply([]byte(`[1,2]`)); err == nil {
		t.Error("array reply accepted")
	}
}

func TestExpressions(t *testing.T) {
	e := ExpressionsFrom(map[string]any{"id": "42", "queueTrigger": "m", "n": float64(3), "nested": map[string]any{"x": 1}})
	got, err := e.Resolve("p-{ID}-{queueTrigger}-{n}")
	if err != nil || got != "p-42-m-3" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := e.Resolve("{nested}"); err == nil || !strings.Contains(err.Error(), "{nested}") {
		t.Fatalf("nested: %v", err)
	}
	if _, err := e.Resolve("{open"); err == nil {
		t.Fatal("unclosed accepted")
	}
	if g, _ := e.Resolve("{rand-guid}"); len(g) != 36 {
		t.Fatalf("guid %q", g)
	}
}

// TestExpressionsFromHostMetadata: metadata holds values as the host
// serializes them ("\"42\"" for the string 42); binding expressions see
// the values themselves.
func TestExpressionsFromHostMetadata(t *testing.T) {
	md := map[string]any{
		"id":           hostjson.Text("42"),
		"quoted":       hostjson.Text(`"x"`),
		"DequeueCount": json.RawMessage(`"1"`),
		"sys":          hostjson.Sys("f", time.Unix(0, 0)),
	}
	got, err := ExpressionsFrom(md).Resolve("{id}/{quoted}/{DequeueCount}")
	if err != nil || got != `42/"x"/1` {
		t.Fatalf("%q %v", got, err)
	}
}

// TestHTTPTriggerShape: the Body is bytes (base64) for octet-stream and
// multipart content, text otherwise (invalid UTF-8 replaced), as the
// host's GetRequestAsJObject reads it.
func TestHTTPTriggerShape(t *testing.T) {
	for ctype, body := range map[string]string{"application/octet-stream": "//4=", "multipart/form-data; boundary=x": "//4=", "text/plain": "\ufffd\ufffd", "": "\ufffd\ufffd"} {
		r, _ := http.NewRequest("POST", "http://h/api/x", strings.NewReader("\xff\xfe"))
		r.Header.Set("Content-Type", ctype)
		tr, err := NewHTTPTrigger(r, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := tr.Body(); !ok || got != body {
			t.Errorf("Content-Type %q: Body %q, want %q", ctype, got, body)
		}
	}
	r, _ := http.NewRequest("POST", "http://example.test/api/items/7?a=1&a=2&b=x", strings.NewReader("\xff\xfe"))
	r.Header.Set("Content-Type", "application/octet-stream")
	r.Host = "example.test"
	r.Header.Add("X-Multi", "1")
	r.Header.Add("X-Multi", "2")
	tr, err := NewHTTPTrigger(r, map[string]string{"id": "7"}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tr)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := map[string]any{
		"Url": "http://example.test/api/items/7?a=1&a=2&b=x", "Method": "POST",
		"Query": map[string]any{"a": "1,2", "b": "x"}, "Headers": map[string]any{"X-Multi": []any{"1", "2"}, "Content-Type": []any{"application/octet-stream"}},
		"Params": map[string]any{"id": "7"}, "Identities": []any{}, "Body": "//4=",
	}
	if gb, wb := mustJSON(got), mustJSON(want); gb != wb {
		t.Fatalf("got  %s\nwant %s", gb, wb)
	}
	r2, _ := http.NewRequest("GET", "http://h/api/x", nil)
	tr2, _ := NewHTTPTrigger(r2, nil, 10)
	b2, _ := json.Marshal(tr2)
	if strings.Contains(string(b2), "Body") || !strings.Contains(string(b2), `"Params":{}`) {
		t.Fatalf("want no Body and empty Params (the host always sets route data): %s", b2)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func FuzzReply(f *testing.F) {
	f.Add([]byte(`{"Outputs":{"res":{"statusCode":"200","body":"x","headers":{"a":["b"]}}},"Logs":["l"],"ReturnValue":1}`))
	f.Add([]byte(`{"Outputs":{"res":"plain"}}`))
	f.Add([]byte(`{"Outputs":{"res":{"statusCode":99999}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReply(data)
		if err != nil {
			return
		}
		for name := range r.Outputs {
			if v, ok := r.Output(name); ok {
				if h, err := ParseHTTPOutput(v); err == nil && (h.StatusCode < 100 || h.StatusCode > 999) {
					t.Fatalf("status %d accepted", h.StatusCode)
				}
			}
		}
	})
}

// TestRawScalarFastPathAgrees: the forms rawScalar reads without decoding
// give what the decoder gives, and the forms it leaves to the decoder
// still decode.
func TestRawScalarFastPathAgrees(t *testing.T) {
	for _, raw := range []string{
		`"ada"`, `""`, `"\"ada\""`, `"\"\""`, `"\"a\\\"b\""`, `"a\nb"`, `"\u00e9t\u00e9"`, `"été"`,
		"\"\xff\"", `"\"x"`, `"x\""`, `12`, `true`, `null`, `{"a":1}`, `[1]`, ` "x" `, `"\"\\u0041\""`,
	} {
		var v any
		want, wantOK := "", false
		if json.Unmarshal([]byte(raw), &v) == nil {
			want, wantOK = scalar(v)
			if str, isStr := v.(string); isStr && strings.HasPrefix(str, `"`) {
				var inner string
				if json.Unmarshal([]byte(str), &inner) == nil {
					want, wantOK = inner, true
				}
			}
		}
		if got, ok := rawScalar(json.RawMessage(raw)); got != want || ok != wantOK {
			t.Errorf("rawScalar(%s) = %q, %v; decoding gives %q, %v", raw, got, ok, want, wantOK)
		}
	}
}
