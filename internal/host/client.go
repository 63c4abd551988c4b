package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// handlerClient is the HTTP/1.1 client of one handler instance: a
// fasthttp HostClient's connection pool, buffers and codec, with the
// round trip done here (roundTrip) so that a context ends a call at any
// point, a connection the handler closed while idle is retried or
// skipped, and the response body streams to the caller.
//
// net/http's Transport it replaces cost a background read goroutine and
// a write goroutine per connection with channel handoffs per request,
// and a header map per request and response.
type handlerClient struct {
	hc *fasthttp.HostClient
}

// Limits of a handler connection.
const (
	dialTimeout = 5 * time.Second
	// idleConnTimeout closes a connection idle this long (net/http's
	// IdleConnTimeout was the same).
	idleConnTimeout = 90 * time.Second
	// headerBufferSize bounds a handler response's header block (fasthttp
	// reads the head into one buffer of this size).
	headerBufferSize = 64 << 10
	// maxAttempts bounds the tries of a request whose connection turns
	// out to have been closed by the handler while idle.
	maxAttempts = 3
)

func newHandlerClient(addr string) *handlerClient {
	d := &net.Dialer{Timeout: dialTimeout}
	return &handlerClient{hc: &fasthttp.HostClient{
		Addr:                     addr,
		Dial:                     func(addr string) (net.Conn, error) { return d.Dial("tcp", addr) },
		MaxConns:                 1 << 20, // the pool bounds load per instance; no second limit here
		MaxIdleConnDuration:      idleConnTimeout,
		ReadBufferSize:           headerBufferSize,
		DisablePathNormalizing:   true, // the path goes as the caller sent it
		NoDefaultUserAgentHeader: true,
	}}
}

// closeIdle closes the pooled connections (the instance is gone).
func (c *handlerClient) closeIdle() { c.hc.CloseIdleConnections() }

// roundTrip sends req and reads the response's head into resp; the body
// is read from the returned exchange, whose Close releases inst. As with
// net/http, a replayable request (see reqKind) is sent again on a new
// connection when a pooled one turns out closed before any response
// byte; any other request is sent only on a connection a peek found open.
func (c *handlerClient) roundTrip(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, p *Pool, inst *instance) (io.ReadCloser, error) {
	k := kindOf(req) // before sending: sending closes the body stream
	for attempt := 1; ; attempt++ {
		x, stale, err := c.try(ctx, req, resp, k, p, inst)
		if err == nil || !stale || !k.replayable || attempt == maxAttempts || ctx.Err() != nil {
			return x, err
		}
		c.hc.CloseIdleConnections() // closed while idle: the others likely were too
	}
}

// reqKind is what the round trip needs to know of a request.
type reqKind struct {
	// replayable: the request may run twice if a pooled connection fails
	// after it was sent (net/http's rule): a method without side effects,
	// with no streamed body.
	replayable bool
	streamed   bool // the body is a stream, sent once
	head       bool // the response has no body
}

func kindOf(req *fasthttp.Request) reqKind {
	h := &req.Header
	streamed := req.IsBodyStream()
	return reqKind{
		replayable: !streamed && (h.IsGet() || h.IsHead() || h.IsOptions() || h.IsTrace()),
		streamed:   streamed,
		head:       h.IsHead(),
	}
}

// try is one attempt; stale reports a pooled connection that failed
// before any response byte arrived.
func (c *handlerClient) try(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, k reqKind, p *Pool, inst *instance) (io.ReadCloser, bool, error) {
	start := time.Now()
	cc, err := c.hc.AcquireConn(0, false)
	// A request that must not run twice goes only on a connection the
	// handler has not closed while it was idle.
	for err == nil && !k.replayable && cc.CreatedTime().Before(start) && peerClosed(cc.Conn()) {
		c.hc.CloseConn(cc)
		cc, err = c.hc.AcquireConn(0, false)
	}
	if err != nil {
		return nil, false, fmt.Errorf("connect: %w", err)
	}
	x := newExchange(c.hc, cc, (*fasthttp.HostClient).ReleaseConn, (*fasthttp.HostClient).CloseConn)
	x.resp = resp
	x.stop = context.AfterFunc(ctx, x.interrupt)
	reused := cc.CreatedTime().Before(start)
	if err := x.send(req); err != nil {
		if !k.streamed || !x.answeredEarly(ctx, err, k.head) {
			x.abort()
			return nil, reused, callErr(ctx, "send request", err)
		}
	} else if err := x.receive(k.head); err != nil {
		x.abort()
		return nil, reused && errors.Is(err, io.EOF), callErr(ctx, "read response", err)
	}
	x.pool, x.inst = p, inst
	return x, false, nil
}

// connWriteErr reports a write to a connection the handler closed. (A
// caller whose body stream fails that way is gone: its context has ended,
// which the caller of connWriteErr checks first.)
func connWriteErr(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// callErr names the step that failed; after the context ended, the
// context's cause says why (a timeout, a caller gone).
func callErr(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w (%w)", step, context.Cause(ctx), err)
	}
	return fmt.Errorf("%s: %w", step, err)
}

// peerClosed reports whether the other end closed an idle connection (or
// sent something unasked): a non-blocking peek, one syscall.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n > 0 || (rerr == nil && n == 0) || (rerr != nil && !errors.Is(rerr, syscall.EAGAIN))
		return true
	})
	return closed || err != nil
}
