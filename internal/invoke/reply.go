package invoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Reply is a handler's answer in payload mode.
type Reply struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// ParseReply parses a payload-mode reply body. Property names match
// case-insensitively, as the Azure host's deserializer does.
func ParseReply(body []byte) (*Reply, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return &Reply{}, nil
	}
	var r Reply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("handler reply is not a JSON object with Outputs, Logs, ReturnValue: %w", err)
	}
	if isNull(r.ReturnValue) {
		r.ReturnValue = nil
	}
	return &r, nil
}

// Output returns the value for the binding named name: "$return" is the
// ReturnValue; other names match Outputs keys, exactly first, then
// ignoring case.
func (r *Reply) Output(name string) (json.RawMessage, bool) {
	if name == "$return" {
		return r.ReturnValue, r.ReturnValue != nil
	}
	if v, ok := r.Outputs[name]; ok {
		return v, !isNull(v)
	}
	for k, v := range r.Outputs {
		if strings.EqualFold(k, name) {
			return v, !isNull(v)
		}
	}
	return nil, false
}

func isNull(v json.RawMessage) bool {
	return len(v) == 0 || string(bytes.TrimSpace(v)) == "null"
}

// HTTPResponse is an http output binding's value.
type HTTPResponse struct {
	StatusCode int
	Headers    http.Header
	Body       []byte
}

type rawHTTPOutput struct {
	StatusCode json.RawMessage            `json:"statusCode"`
	Status     json.RawMessage            `json:"status"`
	Body       json.RawMessage            `json:"body"`
	Headers    map[string]json.RawMessage `json:"headers"`
}

// ParseHTTPOutput turns an http output value into a response. The value is
// an object with statusCode (number or string), headers and body; any
// other value is the body of a 200. A string body is sent as is (Tandem
// does not copy the Azure host's habit of base64-decoding strings that
// happen to be valid base64, which turns "test" into bytes); an object or
// array body is sent as JSON.
func ParseHTTPOutput(v json.RawMessage) (*HTTPResponse, error) {
	var raw rawHTTPOutput
	if !isObject(v) || json.Unmarshal(v, &raw) != nil || (raw.StatusCode == nil && raw.Status == nil && raw.Body == nil && raw.Headers == nil) {
		return bodyOnly(v), nil
	}
	code, err := statusCode(raw)
	if err != nil {
		return nil, err
	}
	resp := &HTTPResponse{StatusCode: code, Headers: http.Header{}}
	if err := resp.setHeaders(raw.Headers); err != nil {
		return nil, err
	}
	resp.setBody(raw.Body)
	return resp, nil
}

func isObject(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) > 0 && t[0] == '{'
}

func bodyOnly(v json.RawMessage) *HTTPResponse {
	r := &HTTPResponse{StatusCode: http.StatusOK, Headers: http.Header{}}
	r.setBody(v)
	return r
}

func statusCode(raw rawHTTPOutput) (int, error) {
	v := raw.StatusCode
	if v == nil {
		v = raw.Status
	}
	if isNull(v) {
		return http.StatusOK, nil
	}
	var n int
	if err := json.Unmarshal(v, &n); err == nil {
		return checkCode(n, v)
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return checkCode(n, v)
		}
	}
	return 0, fmt.Errorf("http output: field \"statusCode\": %s is not an HTTP status code", v)
}

func checkCode(n int, v json.RawMessage) (int, error) {
	if n < 100 || n > 999 {
		return 0, fmt.Errorf("http output: field \"statusCode\": %s is not an HTTP status code", v)
	}
	return n, nil
}

func (r *HTTPResponse) setHeaders(h map[string]json.RawMessage) error {
	for name, v := range h {
		var s string
		if json.Unmarshal(v, &s) == nil {
			r.Headers.Add(name, s)
			continue
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			for _, s := range list {
				r.Headers.Add(name, s)
			}
			continue
		}
		if isNull(v) {
			continue
		}
		r.Headers.Add(name, string(bytes.TrimSpace(v))) // numbers and booleans as their text
	}
	if r.Headers.Get("Content-Length") != "" {
		r.Headers.Del("Content-Length") // the gateway computes it from the body
	}
	return nil
}

func (r *HTTPResponse) setBody(v json.RawMessage) {
	if isNull(v) {
		return
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		r.Body = []byte(s)
		return
	}
	r.Body = []byte(bytes.TrimSpace(v))
	if r.Headers.Get("Content-Type") == "" {
		r.Headers.Set("Content-Type", "application/json; charset=utf-8")
	}
}

// ErrHandlerStatus reports a non-2xx reply from the handler.
var ErrHandlerStatus = errors.New("handler replied with a non-2xx status")
