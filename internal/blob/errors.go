package blob

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors every *Error unwraps to.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrPrecondition = errors.New("precondition failed")
	ErrNotModified  = errors.New("not modified")
	ErrInvalid      = errors.New("invalid request")
	ErrAuth         = errors.New("authentication failed")
	ErrReadOnly     = errors.New("read-only replica")
	ErrTooLarge     = errors.New("too large")
)

// Error is an Azure Blob service error: HTTP status, Azure error code (sent
// as x-ms-error-code and <Error><Code>) and message.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is sent as Retry-After.
	RetryAfter time.Duration
	// Header holds extra response headers (Content-Range on 416).
	Header http.Header
	kind   error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.kind }

func newError(kind error, status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), kind: kind}
}

func invalid(code, format string, args ...any) *Error {
	return newError(ErrInvalid, http.StatusBadRequest, code, format, args...)
}

func errContainerNotFound(c string) *Error {
	return newError(ErrNotFound, http.StatusNotFound, "ContainerNotFound", "the specified container %q does not exist", c)
}

func errBlobNotFound(c, b string) *Error {
	return newError(ErrNotFound, http.StatusNotFound, "BlobNotFound", "the specified blob %q does not exist in container %q", b, c)
}

func errConditionNotMet(format string, args ...any) *Error {
	return newError(ErrPrecondition, http.StatusPreconditionFailed, "ConditionNotMet", format, args...)
}

func errTooLarge(format string, args ...any) *Error {
	return newError(ErrTooLarge, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", format, args...)
}

func errAuth(format string, args ...any) *Error {
	return newError(ErrAuth, http.StatusForbidden, "AuthenticationFailed", format, args...)
}

// ReplicaRetryAfter is the Retry-After a write refused by a replica carries.
const ReplicaRetryAfter = time.Second

// RefusedHeader marks a write refused before anything was written, so the
// traffic manager's proxy may send it to the primary.
const RefusedHeader = "X-Tandem-Refused"

func errReplica(bucket, primary string) *Error {
	e := newError(ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy",
		"this region holds a read-only replica of %s (bucket %s); send writes to the primary region %s", primary, bucket, primary)
	e.RetryAfter = ReplicaRetryAfter
	return e
}

// Refusal is an error from outside the package carrying its own status and
// Retry-After (Options.WriteGate's refusal in a secondary).
type Refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

// asError returns err's *Error, a Refusal as ServerBusy, or a 500.
func asError(err error) *Error {
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

func retryAfterValue(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
