package host

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// connLike is fasthttp's pooled connection (its type is unexported; the
// exchange is generic over it so it can hold one without a closure).
type connLike interface {
	Conn() net.Conn
	CreatedTime() time.Time
}

// exchange is one request on one handler connection, from sending the
// request to the end of the response body. As the body (io.ReadCloser)
// it streams what the handler sends; Close gives the connection back to
// the pool when the body was read to its end, closes it otherwise, and
// releases the instance.
type exchange[C connLike] struct {
	hc             *fasthttp.HostClient
	cc             C
	conn           net.Conn                      // cc's connection, kept: fasthttp clears cc once it is released
	release, close func(*fasthttp.HostClient, C) // HostClient.ReleaseConn, CloseConn
	resp           *fasthttp.Response
	br             *bufio.Reader
	body           io.Reader // the response's body stream; nil without a body
	stop           func() bool
	eof            bool
	closed         atomic.Bool
	pool           *Pool
	inst           *instance
}

func newExchange[C connLike](hc *fasthttp.HostClient, cc C, release, closeConn func(*fasthttp.HostClient, C)) *exchange[C] {
	return &exchange[C]{hc: hc, cc: cc, conn: cc.Conn(), release: release, close: closeConn}
}

// longAgo is a deadline in the past: it wakes a blocked read or write.
var longAgo = time.Unix(1, 0)

// interrupt ends the exchange's I/O at once (its context ended: a
// timeout, or the caller went away). The connection is closed after. It
// may run while Close or abort hands cc back (they see the interrupt
// started and close the connection rather than pool it), so it touches
// only the exchange's own net.Conn, never cc, which fasthttp clears and
// reuses once released.
func (x *exchange[C]) interrupt() { _ = x.conn.SetDeadline(longAgo) }

// send writes the request, its body from where it is or streamed.
func (x *exchange[C]) send(req *fasthttp.Request) error {
	bw := x.hc.AcquireWriter(x.cc.Conn())
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	x.hc.ReleaseWriter(bw)
	return err
}

// receive reads the response's head (interim 1xx responses skipped); the
// body is left on the connection, to stream.
func (x *exchange[C]) receive(head bool) error {
	conn := x.cc.Conn()
	x.resp.Reset()
	x.resp.Header.SetNoDefaultContentType(true) // no Content-Type the handler did not send
	x.resp.StreamBody = true
	x.resp.SkipBody = head
	x.br = x.hc.AcquireReader(conn)
	if err := x.resp.ReadLimitBody(x.br, 0); err != nil {
		return err
	}
	x.resp.ParseNetConn(conn)
	x.body = x.resp.BodyStream()
	x.eof = x.body == nil
	return nil
}

// answeredEarly reads the answer of a handler that closed the connection
// before it read the whole streamed body (an early 413 or 401): when
// sending failed on the connection, not on the caller's side, its answer
// is the call's, as net/http's Transport gives it.
func (x *exchange[C]) answeredEarly(ctx context.Context, sendErr error, head bool) bool {
	if ctx.Err() != nil || !connWriteErr(sendErr) || x.receive(head) != nil {
		return false
	}
	x.resp.SetConnectionClose()
	return true
}

func (x *exchange[C]) Read(p []byte) (int, error) {
	if x.body == nil {
		return 0, io.EOF
	}
	n, err := x.body.Read(p)
	if err == io.EOF {
		x.eof = true
	}
	return n, err
}

// Close ends the exchange: the connection goes back to the pool only when
// the body was read to its end and nothing interrupted it.
func (x *exchange[C]) Close() error {
	if !x.closed.CompareAndSwap(false, true) {
		return nil
	}
	interrupted := !x.stop()
	reuse := x.eof && !interrupted && !x.resp.ConnectionClose()
	x.done(reuse)
	if x.pool != nil {
		x.pool.release(x.inst, true)
	}
	return nil
}

// abort ends an exchange that failed before its body was handed out.
func (x *exchange[C]) abort() {
	x.stop()
	x.done(false)
}

func (x *exchange[C]) done(reuse bool) {
	_ = x.resp.CloseBodyStream()
	if x.br != nil {
		x.hc.ReleaseReader(x.br)
		x.br = nil
	}
	if reuse {
		x.release(x.hc, x.cc)
		return
	}
	x.close(x.hc, x.cc)
}
