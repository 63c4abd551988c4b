package blob

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
)

// Sync mode. A write is acknowledged once its records are stored in this
// region; with Options.Stored set, it is acknowledged only once that hook
// accepted the last sequence the write stored in each stream it touched
// (the region waits there for its standbys in sync mode, as it does for a
// queue message or a table entity). A record is one meta message
// published after the data chunks it names, in the same stream, so its
// sequence covers them: a mirror stores a stream in order.
//
// Every record write (publishMeta) notes its stream and sequence in the
// writeLog the request's context carries; the REST handler holds the
// answer of a successful write (a 2xx status) until Stored accepted them,
// and answers the error instead when it did not. WriteAll (the blob output
// binding) returns Stored's error the same way.

// writeLog is what one request stored: the highest sequence per stream.
type writeLog struct {
	mu   sync.Mutex
	seqs map[string]uint64
}

type writeLogKey struct{}

// withWriteLog returns ctx carrying a fresh writeLog.
func withWriteLog(ctx context.Context) (context.Context, *writeLog) {
	wl := &writeLog{seqs: map[string]uint64{}}
	return context.WithValue(ctx, writeLogKey{}, wl), wl
}

// noteWrite records that seq was stored in stream, if ctx carries a log.
func noteWrite(ctx context.Context, stream string, seq uint64) {
	wl, _ := ctx.Value(writeLogKey{}).(*writeLog)
	if wl == nil || stream == "" {
		return
	}
	wl.mu.Lock()
	wl.seqs[stream] = max(wl.seqs[stream], seq)
	wl.mu.Unlock()
}

// awaitStored hands what the request stored to Options.Stored, one stream
// after the other (a request writes one container's stream, or a new
// container's).
func (s *Service) awaitStored(ctx context.Context, app string, wl *writeLog) error {
	if s.opts.Stored == nil || wl == nil {
		return nil
	}
	wl.mu.Lock()
	streams := make([]string, 0, len(wl.seqs))
	for st := range wl.seqs {
		streams = append(streams, st)
	}
	seqs := make(map[string]uint64, len(wl.seqs))
	for k, v := range wl.seqs {
		seqs[k] = v
	}
	wl.mu.Unlock()
	sort.Strings(streams)
	for _, st := range streams {
		if err := s.opts.Stored(ctx, app, st, seqs[st]); err != nil {
			return fmt.Errorf("replicate %s #%d: %w", st, seqs[st], err)
		}
	}
	return nil
}

// syncAnswer holds a write's answer until Options.Stored accepted what
// the request stored: handlers set headers and call WriteHeader as usual;
// a success status first waits, and a failed wait answers the error
// (500 InternalError, or the error's own status) instead of the success.
// Headers are staged so that a replaced answer carries none of the
// success's (ETag, Last-Modified, ...).
type syncAnswer struct {
	w       http.ResponseWriter
	r       *http.Request
	s       *Service
	app     string
	wl      *writeLog
	staged  http.Header
	decided bool
	failed  bool
}

func (a *syncAnswer) Header() http.Header {
	if a.decided {
		return a.w.Header()
	}
	return a.staged
}

func (a *syncAnswer) WriteHeader(status int) {
	if a.decided {
		if !a.failed {
			a.w.WriteHeader(status)
		}
		return
	}
	a.decided = true
	if status >= 200 && status < 300 {
		if err := a.s.awaitStored(a.r.Context(), a.app, a.wl); err != nil {
			a.failed = true
			a.s.fail(a.w, a.r, err)
			return
		}
	}
	h := a.w.Header()
	for k := range h {
		delete(h, k)
	}
	for k, v := range a.staged {
		h[k] = v
	}
	a.w.WriteHeader(status)
}

func (a *syncAnswer) Write(p []byte) (int, error) {
	if !a.decided {
		a.WriteHeader(http.StatusOK)
	}
	if a.failed {
		return len(p), nil // the success's body is dropped
	}
	return a.w.Write(p)
}

// Flush passes through once the answer is decided.
func (a *syncAnswer) Flush() {
	if f, ok := a.w.(http.Flusher); ok && a.decided && !a.failed {
		f.Flush()
	}
}
