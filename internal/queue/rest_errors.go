package queue

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// restError is an Azure Queue service error: status, code and message.
// (Temporary: replaced by internal/storage's Error once that lands.)
type restError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	refused    bool
}

func (e *restError) Error() string { return e.Code + ": " + e.Message }

func newRESTError(status int, code, format string, args ...any) *restError {
	return &restError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *restError {
	return newRESTError(http.StatusBadRequest, code, format, args...)
}

// refusal is an error that carries its own status and Retry-After: the
// region's write gate returns one in a secondary.
type refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

// asRESTError maps an error of this package to Azure's answer.
func asRESTError(err error) *restError {
	var e *restError
	if errors.As(err, &e) {
		return e
	}
	var r refusal
	if errors.As(err, &r) {
		return &restError{Status: r.HTTPStatus(), Code: "ServerBusy", Message: err.Error(), RetryAfter: r.RetryAfter(), refused: true}
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return newRESTError(http.StatusNotFound, "QueueNotFound", "The specified queue does not exist. (%v)", err)
	case errors.Is(err, ErrMessageNotFound):
		return newRESTError(http.StatusNotFound, "MessageNotFound", "The specified message does not exist. (%v)", err)
	case errors.Is(err, ErrQueueExists):
		return newRESTError(http.StatusConflict, "QueueAlreadyExists", "The specified queue already exists. (%v)", err)
	case errors.Is(err, ErrTooLarge):
		return newRESTError(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit of %d bytes. (%v)", MaxTextSize, err)
	case errors.Is(err, ErrMirror):
		return &restError{Status: http.StatusServiceUnavailable, Code: "ServerBusy", Message: err.Error(), RetryAfter: time.Second, refused: true}
	case errors.Is(err, ErrNoAccount):
		return newRESTError(http.StatusForbidden, "AuthenticationFailed", "%v", err)
	case errors.Is(err, ErrInvalidInput):
		return badRequest("InvalidQueryParameterValue", "%v", err)
	}
	return newRESTError(http.StatusInternalServerError, "InternalError", "%v", err)
}

type xmlError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// writeRESTError writes e as the Queue service does.
func writeRESTError(w http.ResponseWriter, r *http.Request, e *restError, now time.Time) {
	h := w.Header()
	h.Set("x-ms-error-code", e.Code)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(max(1, int((e.RetryAfter+time.Second-1)/time.Second))))
	}
	if e.refused {
		h.Set("X-Tandem-Refused", "read-only") // nothing was written
	}
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead {
		return
	}
	msg := e.Message + "\nRequestId:" + h.Get("x-ms-request-id") + "\nTime:" + now.UTC().Format("2006-01-02T15:04:05.0000000Z")
	data, _ := xml.Marshal(xmlError{Code: e.Code, Message: msg})
	_, _ = w.Write(append([]byte(xml.Header), data...))
}
