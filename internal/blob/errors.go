package blob

import (
	"errors"
	"net/http"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// Error is an Azure Storage error (internal/storage): HTTP status, Azure
// error code (x-ms-error-code and <Error><Code>) and message.
type Error = storage.Error

// Sentinel errors every *Error unwraps to: internal/storage's, and two of
// the Blob service's own.
var (
	ErrNotFound     = storage.ErrNotFound
	ErrConflict     = storage.ErrConflict
	ErrPrecondition = storage.ErrPrecondition
	ErrInvalid      = storage.ErrInvalid
	ErrAuth         = storage.ErrAuth
	ErrReadOnly     = storage.ErrReadOnly
	ErrNotModified  = errors.New("not modified")
	ErrTooLarge     = errors.New("too large")
)

// RefusedHeader marks a write refused before anything was written.
const RefusedHeader = storage.RefusedHeader

func newError(kind error, status int, code, format string, args ...any) *Error {
	return storage.NewError(kind, status, code, format, args...)
}

func invalid(code, format string, args ...any) *Error { return storage.Invalid(code, format, args...) }

func asError(err error) *Error { return storage.AsError(err) }

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

func errInvalidRange(start, size int64) *Error {
	return newError(ErrInvalid, http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
		"the range starts at byte %d but the blob has %d bytes", start, size)
}

// ReplicaRetryAfter is the Retry-After a write refused by a replica carries.
const ReplicaRetryAfter = time.Second

func errReplica(bucket, primary string) *Error {
	e := newError(ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy",
		"this region holds a read-only replica of %s (bucket %s); send writes to the primary region %s", primary, bucket, primary)
	e.RetryAfter = ReplicaRetryAfter
	return e
}
