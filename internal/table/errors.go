package table

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Every error the package returns for a client mistake or a
// storage condition is an *Error that unwraps to one of these, so callers can
// use errors.Is and the REST layer can map them to Azure's status codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrPrecondition = errors.New("precondition failed")
	ErrInvalid      = errors.New("invalid request")
	ErrAuth         = errors.New("authentication failed")
	ErrUnsupported  = errors.New("not implemented")
)

// Error is an Azure Table service error: an HTTP status, the Azure error
// code (as sent in x-ms-error-code and odata.error.code) and a message.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when set, is sent as Retry-After (a refused write in a
	// secondary region).
	RetryAfter time.Duration
	kind       error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the sentinel (ErrNotFound, ErrConflict, ...).
func (e *Error) Unwrap() error { return e.kind }

func newError(kind error, status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), kind: kind}
}

func invalid(code, format string, args ...any) *Error {
	return newError(ErrInvalid, http.StatusBadRequest, code, format, args...)
}

func errTableNotFound(table string) *Error {
	return newError(ErrNotFound, http.StatusNotFound, "TableNotFound", "table %q does not exist", table)
}

// errEntityNotFound is Azure's answer for a missing entity on get, update
// and delete alike: 404 ResourceNotFound.
func errEntityNotFound(pk, rk string) *Error {
	return newError(ErrNotFound, http.StatusNotFound, "ResourceNotFound",
		"entity (PartitionKey=%q, RowKey=%q) does not exist", pk, rk)
}

func errEntityExists(pk, rk string) *Error {
	return newError(ErrConflict, http.StatusConflict, "EntityAlreadyExists",
		"entity (PartitionKey=%q, RowKey=%q) already exists", pk, rk)
}

func errPrecondition(pk, rk string) *Error {
	return newError(ErrPrecondition, http.StatusPreconditionFailed, "UpdateConditionNotSatisfied",
		"If-Match does not match the ETag of entity (PartitionKey=%q, RowKey=%q)", pk, rk)
}

func errAuth(format string, args ...any) *Error {
	return newError(ErrAuth, http.StatusForbidden, "AuthenticationFailed", format, args...)
}

// Refusal is an error from outside the package that carries its own
// status and Retry-After: Options.WriteGate returns one when the region
// refuses writes (a secondary).
type Refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

// asError returns err's *Error, a Refusal as ServerBusy, or a 500
// InternalError wrapping it.
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

// retryAfterValue is Retry-After in whole seconds, at least 1.
func retryAfterValue(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
