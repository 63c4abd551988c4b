package storage

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Every Storage error is an *Error that unwraps to one of
// these, so callers use errors.Is and the REST layers map them to status
// codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrPrecondition = errors.New("precondition failed")
	ErrInvalid      = errors.New("invalid request")
	ErrAuth         = errors.New("authentication failed")
	ErrUnsupported  = errors.New("not implemented")
	// ErrReadOnly is a write refused because this region holds a
	// read-only replica (a secondary): nothing was written.
	ErrReadOnly = errors.New("read-only replica")
)

// RefusedHeader marks a write refused before anything was written, so the
// traffic manager's proxy may send it to the primary (proxy.RefusedHeader).
const RefusedHeader = "X-Tandem-Refused"

// Error is an Azure Storage error: an HTTP status, the Azure error code
// (sent in x-ms-error-code and in the body) and a message.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is sent as Retry-After.
	RetryAfter time.Duration
	kind       error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the sentinel (ErrNotFound, ErrConflict, ...).
func (e *Error) Unwrap() error { return e.kind }

// NewError returns an *Error of the given kind (a sentinel above).
func NewError(kind error, status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), kind: kind}
}

// Invalid is a 400 with the given code.
func Invalid(code, format string, args ...any) *Error {
	return NewError(ErrInvalid, http.StatusBadRequest, code, format, args...)
}

// AuthFailed is Azure's 403 AuthenticationFailed.
func AuthFailed(format string, args ...any) *Error {
	return NewError(ErrAuth, http.StatusForbidden, "AuthenticationFailed", format, args...)
}

// Forbidden is a 403 with a specific authorization code
// (AuthorizationPermissionMismatch, AuthorizationSourceIPMismatch, ...).
func Forbidden(code, format string, args ...any) *Error {
	return NewError(ErrAuth, http.StatusForbidden, code, format, args...)
}

// Refusal is an error from outside the package that carries its own
// status and Retry-After (a region refusing writes as a secondary).
type Refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

// AsError returns err's *Error, a Refusal as ServerBusy, or a 500
// InternalError wrapping it.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var r Refusal
	if errors.As(err, &r) {
		return &Error{Status: r.HTTPStatus(), Code: "ServerBusy", Message: err.Error(), RetryAfter: r.RetryAfter(), kind: ErrReadOnly}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error(), kind: err}
}

// RetryAfterValue is Retry-After in whole seconds, at least 1.
func RetryAfterValue(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// errorHeaders sets x-ms-error-code, Retry-After and the refusal mark.
func errorHeaders(w http.ResponseWriter, e *Error) {
	w.Header().Set("x-ms-error-code", e.Code)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfterValue(e.RetryAfter))
	}
	if errors.Is(e, ErrReadOnly) {
		w.Header().Set(RefusedHeader, "read-only") // nothing was written
	}
}

// JSONErrorBody is the Table service's error body:
// {"odata.error":{"code":..,"message":{"lang":"en-US","value":..}}}.
func JSONErrorBody(e *Error) []byte {
	body := map[string]any{"odata.error": map[string]any{
		"code":    e.Code,
		"message": map[string]string{"lang": "en-US", "value": e.Message},
	}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
	return bytes.TrimSpace(buf.Bytes())
}

// WriteJSONError writes e as the Table service does.
func WriteJSONError(w http.ResponseWriter, e *Error) {
	errorHeaders(w, e)
	w.Header().Set("Content-Type", "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write(JSONErrorBody(e))
}

// xmlError is the Blob and Queue services' error body.
type xmlError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// XMLErrorBody is the Blob and Queue services' error body; the message
// ends with the request id and time, as Azure's does.
func XMLErrorBody(e *Error, requestID string, now time.Time) []byte {
	msg := e.Message + "\nRequestId:" + requestID + "\nTime:" + now.UTC().Format("2006-01-02T15:04:05.0000000Z")
	data, _ := MarshalXML(xmlError{Code: e.Code, Message: msg})
	return append([]byte(xml.Header[:len(xml.Header)-1]), data...)
}

// WriteXMLError writes e as the Blob and Queue services do; a HEAD
// response gets the headers only.
func WriteXMLError(w http.ResponseWriter, r *http.Request, e *Error, now time.Time) {
	errorHeaders(w, e)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(XMLErrorBody(e, w.Header().Get(RequestIDHeader), now))
	}
}
