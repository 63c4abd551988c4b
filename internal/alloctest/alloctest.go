// Package alloctest holds what the hot paths' allocation-ceiling tests
// share (issue 15's guard against regressions: a test of allocations, not
// of time): the heap bytes a call allocates, and a ResponseWriter that
// allocates nothing itself.
package alloctest

import (
	"net/http"
	"runtime"
	"testing"
)

// BytesPerRun is the average heap bytes f allocates, measured as
// testing.AllocsPerRun measures counts (one warm-up call, then runs calls).
func BytesPerRun(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// DiscardWriter is a ResponseWriter that keeps the status and throws the
// body away, reused across requests (Reset) so it allocates nothing.
type DiscardWriter struct {
	h      http.Header
	Status int
}

// NewDiscardWriter returns an empty DiscardWriter.
func NewDiscardWriter() *DiscardWriter { return &DiscardWriter{h: http.Header{}} }

// Reset clears the headers and the status for the next request.
func (w *DiscardWriter) Reset() {
	clear(w.h)
	w.Status = 0
}

// Header implements http.ResponseWriter.
func (w *DiscardWriter) Header() http.Header { return w.h }

// WriteHeader keeps the first status.
func (w *DiscardWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
}

// Write throws b away.
func (w *DiscardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Flush implements http.Flusher.
func (w *DiscardWriter) Flush() {}

// Ceiling warms serve up (50 calls: connection pools, metric children),
// measures its allocations and bytes per call over 500 calls, logs them
// and fails t above either ceiling. what names a call in the messages.
func Ceiling(t testing.TB, what string, serve func(), maxAllocs int, maxBytes uint64) {
	t.Helper()
	for range 50 {
		serve()
	}
	allocs := testing.AllocsPerRun(500, serve)
	bytes := BytesPerRun(500, serve)
	t.Logf("%.1f allocations, %d bytes per %s (ceilings %d, %d)", allocs, bytes, what, maxAllocs, maxBytes)
	if allocs > float64(maxAllocs) {
		t.Errorf("a %s allocates %.1f times, above the ceiling of %d", what, allocs, maxAllocs)
	}
	if bytes > maxBytes {
		t.Errorf("a %s allocates %d bytes, above the ceiling of %d", what, bytes, maxBytes)
	}
}
