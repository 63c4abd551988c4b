package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

func (b bodyParts) reader() io.Reader {
	rs := make([]io.Reader, len(b))
	for i, p := range b {
		rs[i] = bytes.NewReader(p)
	}
	return io.MultiReader(rs...)
}
