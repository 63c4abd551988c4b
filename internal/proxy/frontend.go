package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Frontend is the traffic manager's public listener. Each connection's
// first bytes choose its engine: the HTTP/2 prior-knowledge preface (h2c)
// goes to a net/http server, anything else to a fasthttp server, the fast
// one, which serves plain HTTP/1.1 (ServeFast). A request that needs
// net/http (an Upgrade: WebSocket or h2c; Expect: 100-continue, relayed
// only once the backend asks for the body; targets without a fasthttp
// client) has its connection handed over to the net/http server with the
// request's bytes replayed, and net/http serves that connection from then
// on. Both servers apply the same timeouts.
type Frontend struct {
	get  func() *Proxy
	fast *fasthttp.Server
	std  *http.Server
	ln   net.Listener
	fl   *connListener // connections for fasthttp
	sl   *connListener // connections for net/http
	to   ServerTimeouts
	log  *slog.Logger
	wg   sync.WaitGroup

	mu      sync.Mutex // guards ln and stopped between Serve and Shutdown/Close
	stopped bool
}

// NewFrontend returns a front end serving the Proxy get returns at each
// request (the traffic manager swaps it on reload).
func NewFrontend(get func() *Proxy, t ServerTimeouts, log *slog.Logger) *Frontend {
	if log == nil {
		log = slog.Default()
	}
	s := &Frontend{get: get, to: t, log: log}
	s.std = NewServerTimeouts(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.get().ServeHTTP(w, r)
	}), t)
	s.fast = &fasthttp.Server{
		Handler:                      s.serveFast,
		ExpectHandler:                s.expect,
		HeaderReceived:               s.headerReceived,
		ReadTimeout:                  t.ReadHeader,
		WriteTimeout:                 t.Write,
		IdleTimeout:                  t.Idle,
		StreamRequestBody:            true,
		ReadBufferSize:               maxHeaderBytes,
		KeepHijackedConns:            true, // a handed-over connection is net/http's to close
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		LazyRequestTime:              true, // the proxy reads the clock itself
		Logger:                       fastLogger{log},
	}
	if t.Idle == 0 {
		s.fast.IdleTimeout = t.Read
	}
	return s
}

// maxHeaderBytes bounds a request's header block on the HTTP/1.1 engine
// (fasthttp's read buffer, kept per connection; its default is 4 KiB):
// HAProxy's default buffer size. net/http allows 1 MiB; a larger header
// gets 431 here.
const maxHeaderBytes = 16 << 10

// headerReceived gives a body the Read timeout once the headers are in
// (fasthttp's ReadTimeout, set to ReadHeader, covers the headers).
func (s *Frontend) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() == 0 {
		return fasthttp.RequestConfig{} // no body to read: no deadline to move
	}
	return fasthttp.RequestConfig{ReadTimeout: s.to.Read}
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Frontend) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		_ = l.Close()
		return http.ErrServerClosed
	}
	s.ln = l
	s.fl, s.sl = newConnListener(l.Addr()), newConnListener(l.Addr())
	s.wg.Add(2)
	s.mu.Unlock()
	go func() { defer s.wg.Done(); _ = s.fast.Serve(s.fl) }()
	go func() { defer s.wg.Done(); _ = s.std.Serve(s.sl) }()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond) // out of file descriptors: back off, as net/http does
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			return fmt.Errorf("accept: %w", err)
		}
		go s.dispatch(c)
	}
}

// h2Preface opens every prior-knowledge HTTP/2 connection.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// dispatch reads as much of c's first bytes as tells h2c from HTTP/1.x
// (within the header timeout) and hands c, those bytes replayed, to the
// engine for it.
func (s *Frontend) dispatch(c net.Conn) {
	if s.to.ReadHeader > 0 {
		_ = c.SetReadDeadline(time.Now().Add(s.to.ReadHeader))
	}
	buf := make([]byte, len(h2Preface))
	n := 0
	for n < len(buf) && bytes.HasPrefix(h2Preface, buf[:n]) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil && (n == 0 || bytes.HasPrefix(h2Preface, buf[:n])) {
			_ = c.Close()
			return
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: c, pre: buf[:n]}
	if n == len(h2Preface) && bytes.Equal(buf, h2Preface) {
		s.sl.push(rc)
		return
	}
	s.fl.push(rc)
}

// serveFast is the fasthttp server's handler.
func (s *Frontend) serveFast(ctx *fasthttp.RequestCtx) {
	if len(ctx.Request.Header.Peek("Upgrade")) > 0 || !s.get().ServeFast(ctx) {
		s.handOver(ctx, true)
	}
}

// expect hands a request expecting 100-continue to net/http before the
// fasthttp server would answer 100 itself: net/http sends it when the
// backend asks for the body. (A client that sends its body without
// waiting for the 100 would lose what the fasthttp server had buffered.)
func (s *Frontend) expect(ctx *fasthttp.RequestCtx) int {
	s.handOver(ctx, false)
	return fasthttp.StatusExpectationFailed // not sent: the connection is handed over
}

// handOver gives ctx's connection to the net/http server, replaying the
// request's header and, when withBody, its body as the client sent it.
func (s *Frontend) handOver(ctx *fasthttp.RequestCtx, withBody bool) {
	head := append([]byte(nil), ctx.Request.Header.Header()...)
	var body io.Reader
	if withBody {
		body = replayBody(ctx)
	}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		s.sl.push(&replayConn{Conn: c, pre: head, body: body})
	})
}

// replayBody is the request body as it was framed on the wire: as read
// for a Content-Length, chunked again for a chunked one (its trailers are
// not replayed).
func replayBody(ctx *fasthttp.RequestCtx) io.Reader {
	n := ctx.Request.Header.ContentLength()
	r := ctx.RequestBodyStream()
	switch {
	case n == 0 || r == nil:
		return nil
	case n > 0:
		return r
	}
	pr, pw := io.Pipe()
	go func() {
		cw := httputil.NewChunkedWriter(pw)
		_, err := io.Copy(cw, r)
		if err == nil {
			err = cw.Close()
		}
		if err == nil {
			_, err = io.WriteString(pw, "\r\n")
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// Shutdown stops accepting and waits for the requests in flight, as
// http.Server.Shutdown.
func (s *Frontend) Shutdown(ctx context.Context) error {
	if !s.stop() {
		return nil
	}
	err := errors.Join(s.fast.ShutdownWithContext(ctx), s.std.Shutdown(ctx))
	s.wg.Wait()
	return err
}

// Close stops at once, closing every connection it can.
func (s *Frontend) Close() error {
	if !s.stop() {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.fast.ShutdownWithContext(ctx)
	err := s.std.Close()
	s.wg.Wait()
	return err
}

// stop closes the listeners once and reports whether Serve had started
// (else there is nothing to wait for, and Serve will not start).
func (s *Frontend) stop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return s.ln != nil
	}
	s.stopped = true
	if s.ln == nil {
		return false
	}
	_ = s.ln.Close()
	_ = s.fl.Close()
	_ = s.sl.Close()
	return true
}

type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Debug("proxy: fasthttp: " + fmt.Sprintf(format, args...))
}
