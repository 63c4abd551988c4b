package proxy

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// NewTarget returns a target with both engines' connection pools: a
// net/http transport (h2c, upgrades, 100-continue) and a fasthttp client
// (plain HTTP/1.1, the hot path), with the same timeouts.
func NewTarget(name string, u *url.URL, o TransportOptions) Target {
	return Target{Name: name, URL: u, Transport: NewTransport(o), Client: NewHostClient(u, o)}
}

// CloseIdle closes the idle connections of both of t's pools.
func (t Target) CloseIdle() {
	if tr, ok := t.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	if t.Client != nil {
		t.Client.CloseIdleConnections()
	}
}

// NewHostClient returns the HTTP/1.1 engine's pool for one endpoint: a
// bounded connect, a bounded wait for the response headers (the body then
// streams without a deadline, as with net/http), no retries of its own
// (the proxy's rules decide), no User-Agent of its own, responses streamed.
func NewHostClient(u *url.URL, o TransportOptions) *fasthttp.HostClient {
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &fasthttp.HostClient{
		Addr:  hostPort(u),
		IsTLS: u.Scheme == "https",
		Dial: func(addr string) (net.Conn, error) {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				return nil, &dialError{err: err}
			}
			tc := &taggedConn{Conn: c}
			tc.local = connAddr{Addr: c.LocalAddr(), c: tc}
			return tc, nil
		},
		ReadTimeout:               o.ResponseTimeout,
		MaxIdemponentCallAttempts: 1,
		MaxConns:                  1 << 16,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		StreamResponseBody:        true,
		ReadBufferSize:            64 << 10, // bounds a response's header block; pooled per request, not per connection
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

// dialError marks a failed connect: the request never left.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// taggedConn is a backend connection that a response can be traced back
// to (fasthttp records the connection's LocalAddr in the response): the
// proxy lifts the response-header deadline once the headers are in, and
// tells a reused connection the backend had closed (nothing of the
// response read) from a request that failed.
type taggedConn struct {
	net.Conn
	local     connAddr
	exchanges int  // responses begun on this connection before the current request
	readSince bool // a byte was read since the current request's first write
}

type connAddr struct {
	net.Addr
	c *taggedConn
}

func (c *taggedConn) LocalAddr() net.Addr { return &c.local }

func (c *taggedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.readSince = true
	}
	return n, err
}

func (c *taggedConn) Write(b []byte) (int, error) {
	if c.readSince {
		c.exchanges++
		c.readSince = false
	}
	return c.Conn.Write(b)
}

// connOf is the backend connection resp came over, if known.
func connOf(resp *fasthttp.Response) *taggedConn {
	if a, ok := resp.LocalAddr().(*connAddr); ok {
		return a.c
	}
	return nil
}

// staleConn reports an attempt that failed on a reused connection before
// any byte of the response: the backend had closed it while idle (a race
// net/http's transport also retries on for replayable requests).
func staleConn(resp *fasthttp.Response, err error) bool {
	c := connOf(resp)
	return c != nil && c.exchanges > 0 && !c.readSince && !errors.Is(err, fasthttp.ErrTimeout)
}
