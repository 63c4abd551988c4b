package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// OutputMessages applies the Azure queue output binding's value semantics
// to the value a handler returned for a queue output: a JSON string is one
// message holding the string's contents; an array is one message per
// element (each element by the same rule, nulls skipped); null writes
// nothing (the host skips null outputs); any other value is one message
// holding its compact JSON text.
func OutputMessages(value json.RawMessage) ([][]byte, error) {
	v := bytes.Trim(value, " \t\r\n") // JSON whitespace only
	if len(v) == 0 {
		return nil, fmt.Errorf("queue output: empty value")
	}
	if !json.Valid(v) {
		return nil, fmt.Errorf("queue output: value is not valid JSON")
	}
	if v[0] != '[' {
		return outputElement(v)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, fmt.Errorf("queue output: %w", err)
	}
	var out [][]byte
	for _, e := range elems {
		msgs, err := outputElement(e)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// outputElement converts one non-array value (or an array nested in an
// array, which becomes its JSON text).
func outputElement(v json.RawMessage) ([][]byte, error) {
	switch v[0] {
	case 'n':
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("queue output: %w", err)
		}
		return [][]byte{[]byte(s)}, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, fmt.Errorf("queue output: %w", err)
	}
	return [][]byte{buf.Bytes()}, nil
}
