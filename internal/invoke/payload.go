package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/valyala/fasthttp"
)

// bodyParts is a payload-mode request body as a list of byte slices sent
// one after the other: the Data values (an HTTP trigger's value holds the
// request body) are sent from where they are, never copied into one more
// buffer.
type bodyParts [][]byte

// encode writes p as {"Data":{...},"Metadata":{...}}. Data values must be
// valid JSON (they are built by triggers and binders, not by callers).
func (p Payload) encode() (bodyParts, error) {
	var head bytes.Buffer
	head.WriteString(`{"Data":{`)
	parts := make(bodyParts, 0, 2*len(p.Data)+2)
	sep := false
	for name, v := range p.Data {
		if sep {
			head.WriteByte(',')
		}
		sep = true
		if err := appendJSON(&head, name); err != nil {
			return nil, err
		}
		head.WriteByte(':')
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		parts = append(parts, head.Bytes(), v) // a value is sent from where it is
		head = bytes.Buffer{}
	}
	head.WriteString(`},"Metadata":`)
	if err := appendObject(&head, p.Metadata); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	head.WriteByte('}')
	return append(parts, head.Bytes()), nil
}

// appendObject appends md as json.Marshal writes it (keys sorted, strings
// and raw values HTML-escaped), without reflection for the values
// triggers put in metadata: json.RawMessage and string.
func appendObject(buf *bytes.Buffer, md map[string]any) error {
	if md == nil {
		buf.WriteString("null")
		return nil
	}
	buf.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(md)) {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := appendJSON(buf, k); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := appendJSON(buf, md[k]); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// appendJSON appends v as json.Marshal writes it. A string that needs no
// escaping and a raw value that needs no HTML escaping are appended as
// they are (the raw value compacted); anything else goes through
// json.Marshal.
func appendJSON(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case string:
		if plainASCII(x) {
			buf.WriteByte('"')
			buf.WriteString(x)
			buf.WriteByte('"')
			return nil
		}
	case json.RawMessage:
		if len(x) == 0 {
			buf.WriteString("null")
			return nil
		}
		if !bytes.ContainsAny(x, "<>&\u2028\u2029") {
			return json.Compact(buf, x)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// plainASCII reports whether s is printable ASCII that json.Marshal
// writes between quotes unchanged.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (b bodyParts) size() int64 {
	var n int64
	for _, p := range b {
		n += int64(len(p))
	}
	return n
}

// joinBelow is the payload size up to which the parts are copied into
// the request's (pooled) body buffer: headers and body then leave in one
// write, and the request can be sent again on a new connection if a
// pooled one turns out closed. Above it the parts stream from where they
// are, not copied.
const joinBelow = 16 << 10

// setBody makes the parts req's body.
func (b bodyParts) setBody(req *fasthttp.Request) {
	if n := b.size(); n > joinBelow {
		req.SetBodyStream(b.reader(), int(n))
		return
	}
	for _, p := range b {
		req.AppendBody(p)
	}
}

// reader reads the parts in order. It is its own io.WriterTo, writing
// each part straight to the destination: io.MultiReader's WriteTo allocated a 32 KiB buffer for
// every request.
func (b bodyParts) reader() io.Reader { return &partsReader{parts: slices.Clone(b)} }

type partsReader struct{ parts [][]byte }

func (r *partsReader) Read(p []byte) (int, error) {
	for len(r.parts) > 0 && len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

func (r *partsReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.parts) > 0 {
		n, err := w.Write(r.parts[0])
		total += int64(n)
		r.parts[0] = r.parts[0][n:]
		if err != nil {
			return total, err
		}
		r.parts = r.parts[1:]
	}
	return total, nil
}
