package invoke

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandemhq/tandem/internal/hostjson"
)

// HTTPTrigger is the Data value of an httpTrigger binding in payload mode.
// The body is kept as read (not as a string copy) and escaped straight
// into the JSON value by MarshalJSON.
type HTTPTrigger struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"` // {} without route values, as the host always sets them
	Identities []any               `json:"Identities"`

	body   []byte // nil: no body
	binary bool   // octet-stream or multipart content: sent base64-encoded
}

// NewHTTPTrigger describes r as the Azure host does (GetRequestAsJObject).
// Repeated query values are joined with commas; Params is always present;
// a body is present only when the request has one, as bytes (base64) for
// application/octet-stream and multipart/* content, otherwise as text with
// each invalid UTF-8 byte replaced by U+FFFD, as .NET decoding does.
func NewHTTPTrigger(r *http.Request, params map[string]string, maxBody int64) (*HTTPTrigger, error) {
	t := &HTTPTrigger{
		URL:        requestURL(r),
		Method:     r.Method,
		Query:      map[string]string{},
		Headers:    map[string][]string{},
		Identities: []any{},
	}
	for k, v := range r.URL.Query() {
		t.Query[k] = strings.Join(v, ",")
	}
	for k, v := range r.Header {
		t.Headers[k] = v
	}
	t.Params = make(map[string]string, len(params))
	for k, v := range params {
		t.Params[k] = v
	}
	body, err := readBody(r, maxBody)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		t.body, t.binary = body, binaryContent(r.Header.Get("Content-Type"))
		if !t.binary && !utf8.Valid(body) {
			t.body = replaceInvalidUTF8(body)
		}
	}
	return t, nil
}

// replaceInvalidUTF8 replaces each invalid byte with U+FFFD.
func replaceInvalidUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, r := range string(b) { // range yields U+FFFD per invalid byte
		out = utf8.AppendRune(out, r)
	}
	return out
}

// binaryContent reports whether the host reads a body of this content type
// as bytes (IsMediaTypeOctetOrMultipart).
func binaryContent(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")
}

// Body is the request body as the handler receives it (base64 for binary
// content) and whether there is one.
func (t *HTTPTrigger) Body() (string, bool) {
	if t.body == nil {
		return "", false
	}
	if t.binary {
		return base64.StdEncoding.EncodeToString(t.body), true
	}
	return string(t.body), true
}

// MarshalJSON writes the trigger value with its body escaped into one
// buffer sized for it: a request body is copied once here, not once per
// encoding layer.
func (t *HTTPTrigger) MarshalJSON() ([]byte, error) {
	type plain HTTPTrigger // without this method
	head, err := json.Marshal((*plain)(t))
	if err != nil || t.body == nil {
		return head, err
	}
	n := escapedLen(t.body) + 16
	if t.binary {
		n = base64.StdEncoding.EncodedLen(len(t.body)) + 16
	}
	out := make([]byte, 0, len(head)+n)
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"Body":"`...)
	if t.binary {
		out = base64.StdEncoding.AppendEncode(out, t.body)
	} else {
		out = appendEscaped(out, t.body)
	}
	return append(out, `"}`...), nil
}

// escapedLen is the length of s escaped by appendEscaped.
func escapedLen(s []byte) int {
	n := len(s)
	for _, c := range s {
		switch {
		case c == '"', c == '\\', c == '\n', c == '\r', c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// appendEscaped appends UTF-8 text escaped for a JSON string.
func appendEscaped(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

// readBody reads a request body up to limit bytes, into a buffer of the
// announced size when there is one (no regrowth copies).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: request body is over %d bytes", ErrTooLarge, limit)
	}
	if r.ContentLength > 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: request body is over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// ErrTooLarge reports a request body over the limit.
var ErrTooLarge = fmt.Errorf("request too large")

func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// HTTPMetadata is the trigger metadata of an HTTP invocation as the Azure
// host sends it: the HTTP extension's binding data (the properties of a
// JSON object body, then query values except "code", then route values,
// then "Query" and "Headers" objects unless a value of that name exists),
// plus "sys"; each value through the host's rule (hostjson), so a route
// value "ada" arrives as the JSON string "\"ada\"".
func HTTPMetadata(t *HTTPTrigger, method string, now time.Time) map[string]any {
	md := map[string]any{}
	if t.body != nil { // the extension reads the body as text for binding data
		for _, p := range hostjson.BindingProperties(t.body) {
			setFold(md, p.Name, p.Value)
		}
	}
	for k, v := range t.Query {
		if !strings.EqualFold(k, "code") {
			setFold(md, k, hostjson.Text(v))
		}
	}
	for k, v := range t.Params {
		setFold(md, k, hostjson.Text(v))
	}
	headers := map[string]string{}
	for k, v := range t.Headers {
		headers[k] = strings.Join(v, ",")
	}
	addAbsent(md, "Query", t.Query)
	addAbsent(md, "Headers", headers)
	md["sys"] = hostjson.Sys(method, now)
	for k := range md {
		if strings.HasSuffix(strings.ToLower(k), "trigger") {
			delete(md, k) // the host leaves these to Data
		}
	}
	return md
}

// setFold sets key as a case-insensitive .NET dictionary does: an existing
// key differing only in case keeps its spelling.
func setFold(md map[string]any, key string, v any) {
	for k := range md {
		if strings.EqualFold(k, key) {
			md[k] = v
			return
		}
	}
	md[key] = v
}

func addAbsent(md map[string]any, key string, v any) {
	for k := range md {
		if strings.EqualFold(k, key) {
			return
		}
	}
	md[key] = v
}

// Sys is the "sys" metadata object every trigger carries.
func Sys(method string, now time.Time) json.RawMessage { return hostjson.Sys(method, now) }

// Payload is the body of a payload-mode invocation.
type Payload struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]any             `json:"Metadata"`
}

// Expressions resolves binding expressions such as {id} or {queueTrigger}
// against trigger metadata.
type Expressions map[string]string

// ExpressionsFrom flattens metadata into expression values: strings,
// numbers and booleans at the top level (nested objects are skipped).
func ExpressionsFrom(md map[string]any) Expressions {
	e := Expressions{}
	for k, v := range md {
		switch x := v.(type) {
		case string:
			e[k] = x
		case float64, int, int64, bool, json.Number:
			e[k] = fmt.Sprint(x)
		case json.RawMessage:
			if s, ok := rawScalar(x); ok {
				e[k] = s
			}
		}
	}
	return e
}

// rawScalar is the expression value of a metadata value: metadata holds
// the host's serialization of a string ("\"ada\""), so a string that is
// itself a JSON string literal is unquoted once more.
func rawScalar(raw json.RawMessage) (string, bool) {
	if s, ok := plainScalar(raw); ok {
		return s, true
	}
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		return "", false // an object or array is never a scalar
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	s, ok := scalar(v)
	if str, isStr := v.(string); isStr && strings.HasPrefix(str, `"`) {
		var inner string
		if json.Unmarshal([]byte(str), &inner) == nil {
			return inner, true
		}
	}
	return s, ok
}

// plainScalar is rawScalar without decoding, for the two forms every
// trigger's metadata is mostly made of: a string literal without escapes
// ("ada") and the host's serialization of one ("\"ada\""). Anything
// else is left to the decoder.
func plainScalar(raw []byte) (string, bool) {
	if in, ok := plainString(raw); ok {
		return string(in), true
	}
	const open, closing = `"\"`, `\""`
	if len(raw) < len(open)+len(closing) || !bytes.HasPrefix(raw, []byte(open)) || !bytes.HasSuffix(raw, []byte(closing)) {
		return "", false
	}
	in := raw[len(open) : len(raw)-len(closing)]
	if !plainBytes(in) {
		return "", false
	}
	return string(in), true
}

// plainString returns the contents of a JSON string literal that holds
// no escape, no control character and only valid UTF-8: what decoding it
// would give.
func plainString(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || !plainBytes(b[1:len(b)-1]) {
		return nil, false
	}
	return b[1 : len(b)-1], true
}

func plainBytes(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// Resolve replaces every {name} in s. Names match case-insensitively;
// {rand-guid} and {DateTime} are built in. An unknown name is an error
// naming it.
func (e Expressions) Resolve(s string) (string, error) {
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("binding expression %q: missing '}'", s)
		}
		out.WriteString(s[:i])
		v, err := e.value(s[i+1 : i+j])
		if err != nil {
			return "", err
		}
		out.WriteString(v)
		s = s[i+j+1:]
	}
}

// Value is the value of the binding expression {name}.
func (e Expressions) Value(name string) (string, error) { return e.value(name) }

func (e Expressions) value(name string) (string, error) {
	switch strings.ToLower(name) {
	case "rand-guid":
		return NewGUID(), nil
	case "datetime":
		return time.Now().UTC().Format(time.RFC3339), nil
	}
	if v, ok := e[name]; ok {
		return v, nil
	}
	for k, v := range e {
		if strings.EqualFold(k, name) {
			return v, nil
		}
	}
	names := make([]string, 0, len(e))
	for k := range e {
		names = append(names, k)
	}
	sort.Strings(names)
	return "", fmt.Errorf("binding expression {%s}: no such value (have %s)", name, strings.Join(names, ", "))
}
