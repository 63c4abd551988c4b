package storage

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

// Header names every Storage response or request uses.
const (
	RequestIDHeader       = "x-ms-request-id"
	ClientRequestIDHeader = "x-ms-client-request-id"
	VersionHeader         = "x-ms-version"
)

// SetCommonHeaders sets what every Storage response carries: a new
// x-ms-request-id, x-ms-version, Date, and the caller's
// x-ms-client-request-id echoed back.
func SetCommonHeaders(w http.ResponseWriter, r *http.Request, version string, now time.Time) {
	h := w.Header()
	h.Set(VersionHeader, version)
	h.Set(RequestIDHeader, RequestID())
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	if id := r.Header.Get(ClientRequestIDHeader); id != "" && len(id) <= 1024 {
		h.Set(ClientRequestIDHeader, id)
	}
}

// RequestID is a new random request id (32 hex digits).
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
