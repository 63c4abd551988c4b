package queue

import (
	"errors"
	"net/http"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// Errors of the REST endpoint are internal/storage's: an *storage.Error
// (status, Azure code, message) written as the Queue service's XML body.

func badRequest(code, format string, args ...any) *storage.Error {
	return storage.Invalid(code, format, args...)
}

func newRESTError(kind error, status int, code, format string, args ...any) *storage.Error {
	return storage.NewError(kind, status, code, format, args...)
}

// asRESTError maps an error of this package (or a refusal of the write
// gate) to Azure's answer.
func asRESTError(err error) *storage.Error {
	var e *storage.Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return newRESTError(storage.ErrNotFound, http.StatusNotFound, "QueueNotFound", "The specified queue does not exist. (%v)", err)
	case errors.Is(err, ErrMessageNotFound):
		return newRESTError(storage.ErrNotFound, http.StatusNotFound, "MessageNotFound", "The specified message does not exist. (%v)", err)
	case errors.Is(err, ErrQueueExists):
		return newRESTError(storage.ErrConflict, http.StatusConflict, "QueueAlreadyExists", "The specified queue already exists. (%v)", err)
	case errors.Is(err, ErrTooLarge):
		return newRESTError(storage.ErrInvalid, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit of %d bytes. (%v)", MaxTextSize, err)
	case errors.Is(err, ErrMirror):
		e := newRESTError(storage.ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy", "%v", err)
		e.RetryAfter = time.Second
		return e
	case errors.Is(err, ErrInvalidInput):
		return badRequest("InvalidQueryParameterValue", "%v", err)
	}
	return storage.AsError(err)
}
