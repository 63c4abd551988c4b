package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// bodyParts is a payload-mode request body as a list of byte slices sent
// one after the other: the Data values (an HTTP trigger's value holds the
// request body) are sent from where they are, never copied into one more
// buffer.
type bodyParts [][]byte

// encode writes p as {"Data":{...},"Metadata":{...}}. Data values must be
// valid JSON (they are built by triggers and binders, not by callers).
func (p Payload) encode() (bodyParts, error) {
	parts := bodyParts{[]byte(`{"Data":{`)}
	sep := ""
	for name, v := range p.Data {
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		parts = append(parts, append(append([]byte(sep), key...), ':'), v)
		sep = ","
	}
	md, err := json.Marshal(p.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return append(parts, []byte(`},"Metadata":`), md, []byte("}")), nil
}

func (b bodyParts) size() int64 {
	var n int64
	for _, p := range b {
		n += int64(len(p))
	}
	return n
}

// joinBelow is the payload size up to which the parts are sent as one
// buffer. net/http sends a request body it does not know to be in memory
// (anything but a *bytes.Reader, *bytes.Buffer or *strings.Reader) after
// flushing the headers on their own, and copies it read by read: one
// write syscall for the headers and one per part, 8 for a queue trigger's
// payload. Joined, headers and body leave in one write. Above this size
// the copy is not worth it and the parts go as they are.
const joinBelow = 16 << 10

// opener returns a function that gives a fresh reader of the whole body
// each time it is called (the request body, then GetBody's).
func (b bodyParts) opener() func() io.Reader {
	if b.size() > joinBelow {
		return b.reader
	}
	joined := bytes.Join(b, nil)
	return func() io.Reader { return bytes.NewReader(joined) }
}

// reader reads the parts in order. It is its own io.WriterTo, writing
// each part straight to the destination (the transport's buffered
// connection): io.MultiReader's WriteTo allocated a 32 KiB buffer for
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
