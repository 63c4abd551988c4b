package table

import (
	"net/http"

	"github.com/tandemhq/tandem/internal/storage"
)

// Sentinel errors: the Storage ones (internal/storage), under the names
// this package has always exported. Every error the package returns for a
// client mistake or a storage condition is an *Error that unwraps to one
// of these, so callers can use errors.Is and the REST layer can map them
// to Azure's status codes.
var (
	ErrNotFound     = storage.ErrNotFound
	ErrConflict     = storage.ErrConflict
	ErrPrecondition = storage.ErrPrecondition
	ErrInvalid      = storage.ErrInvalid
	ErrAuth         = storage.ErrAuth
	ErrUnsupported  = storage.ErrUnsupported
)

// Error is an Azure Table service error: an HTTP status, the Azure error
// code (as sent in x-ms-error-code and odata.error.code) and a message.
type Error = storage.Error

// Refusal is an error from outside the package that carries its own
// status and Retry-After: Options.WriteGate returns one when the region
// refuses writes (a secondary).
type Refusal = storage.Refusal

func newError(kind error, status int, code, format string, args ...any) *Error {
	return storage.NewError(kind, status, code, format, args...)
}

func invalid(code, format string, args ...any) *Error {
	return storage.Invalid(code, format, args...)
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
	return storage.AuthFailed(format, args...)
}

// asError returns err's *Error, a Refusal as ServerBusy, or a 500
// InternalError wrapping it.
func asError(err error) *Error { return storage.AsError(err) }
