package invoke

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// flushRecorder records what was written and signals every flush.
type flushRecorder struct {
	h       http.Header
	body    strings.Builder
	flushed chan string // the body so far, at each flush
}

func (r *flushRecorder) Header() http.Header { return r.h }
func (r *flushRecorder) WriteHeader(int)     {}
func (r *flushRecorder) Write(b []byte) (int, error) {
	return r.body.Write(b)
}
func (r *flushRecorder) Flush() { r.flushed <- r.body.String() }

func response(contentType string, length int64) *fasthttp.Response {
	resp := &fasthttp.Response{}
	resp.Header.SetNoDefaultContentType(true)
	if contentType != "" {
		resp.Header.SetContentType(contentType)
	}
	resp.Header.SetContentLength(int(length))
	return resp
}

// An event the handler streams reaches the client (is flushed) while the
// handler is still writing, before its response ends.
func TestCopyResponseFlushesStreams(t *testing.T) {
	for _, c := range []struct {
		name        string
		contentType string
		length      int64
	}{
		{"server-sent events", "text/event-stream; charset=utf-8", -1},
		{"server-sent events of announced length", "text/event-stream", 1 << 20},
		{"unknown length", "application/json", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			w := &flushRecorder{h: http.Header{}, flushed: make(chan string, 4)}
			done := make(chan struct{})
			go func() {
				copyResponse(w, response(c.contentType, c.length), pr)
				close(done)
			}()
			if got := <-w.flushed; got != "" {
				t.Fatalf("first flush sent %q, want the headers alone", got)
			}
			go func() { _, _ = pw.Write([]byte("data: one\n\n")) }()
			if got := <-w.flushed; got != "data: one\n\n" {
				t.Fatalf("flushed %q, want the first event", got)
			}
			pw.Close()
			<-done
		})
	}
}

// A response of known length is not flushed write by write: the server
// sends it when the request ends.
func TestCopyResponseDoesNotFlushKnownLength(t *testing.T) {
	w := &flushRecorder{h: http.Header{}, flushed: make(chan string, 4)}
	body := strings.Repeat("x", 100<<10)
	copyResponse(w, response("application/json", int64(len(body))), strings.NewReader(body))
	if n := len(w.flushed); n != 0 {
		t.Fatalf("flushed %d times, want 0", n)
	}
	if w.body.Len() != len(body) {
		t.Fatalf("copied %d bytes, want %d", w.body.Len(), len(body))
	}
}
