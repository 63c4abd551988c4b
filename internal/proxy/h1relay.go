package proxy

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// relay writes resp to the client: status and headers without hop-by-hop
// ones (the announced Trailer stays), then the body as it streams. A body
// of unknown length goes out chunked, each chunk flushed as it comes (SSE);
// an event stream also has its headers flushed at once. The request ends
// (metrics, pool) when the server closes the body after writing it.
func (f *fastReq) relay(resp *fasthttp.Response) {
	f.resp = resp
	out := &f.ctx.Response
	resp.Header.CopyTo(&out.Header)
	scan := hopScan{trailers: true}
	resp.Header.VisitAll(scan.visit)
	if scan.hop {
		removeFastHop(resp.Header.Peek("Connection"), out.Header.DelBytes)
		for _, k := range hopHeaders {
			if k != "Trailer" && k != "Transfer-Encoding" {
				out.Header.Del(k)
			}
		}
	}
	out.Header.ResetConnectionClose()
	n := resp.Header.ContentLength()
	if n < 0 || eventStream(resp.Header.ContentType()) {
		out.ImmediateHeaderFlush = true
		n = -1
	}
	if resp.BodyStream() == nil { // no body to stream (HEAD, empty)
		out.SetBody(resp.Body()) // a copy: resp goes back to its pool now
		f.close()
		return
	}
	out.SetBodyStream((*fastBody)(f), n)
	if n < 0 {
		f.watch()
	}
}

// watch notices, while a response streams (it may idle for long: SSE),
// the client going away, as net/http's server does, and then cuts the
// upstream connection so the backend sees it too. It reads the client's
// connection, which nothing else reads while the response is written; a
// byte that arrives (a pipelined request) is put back for the server.
// close stops it.
func (f *fastReq) watch() {
	rc, ok := f.ctx.Conn().(*replayConn)
	up := connOf(f.resp)
	if !ok || up == nil || (f.st.body != nil && !bodyDone(f.ctx)) {
		return
	}
	done := make(chan struct{})
	f.watched, f.watchDone = rc, done
	go func() {
		defer close(done)
		var b [1]byte
		n, err := rc.Conn.Read(b[:])
		if n > 0 {
			rc.pre = append(rc.pre, b[0])
		}
		if err != nil && !isTimeout(err) {
			_ = up.Conn.Close()
		}
	}()
}

// bodyDone reports a request body read to its end.
func bodyDone(ctx *fasthttp.RequestCtx) bool {
	r := ctx.RequestBodyStream()
	if r == nil {
		return true
	}
	n, err := r.Read(nil)
	return n == 0 && errors.Is(err, io.EOF)
}

// unwatch stops watch's reader and gives the connection back as it was.
func (f *fastReq) unwatch() {
	if f.watched == nil {
		return
	}
	_ = f.watched.Conn.SetReadDeadline(time.Unix(1, 0))
	<-f.watchDone
	_ = f.watched.Conn.SetReadDeadline(time.Time{})
	f.watched, f.watchDone = nil, nil
}

func eventStream(ct []byte) bool {
	t, _, _ := strings.Cut(string(ct), ";")
	return strings.EqualFold(strings.TrimSpace(t), "text/event-stream")
}

// fastBody is the upstream body as the server reads it for the client.
type fastBody fastReq

// Read reads the upstream body; at its end the upstream trailers go to
// the client's response, which the server writes after the last chunk.
func (b *fastBody) Read(p []byte) (int, error) {
	n, err := b.resp.BodyStream().Read(p)
	if err == io.EOF {
		b.resp.Header.VisitAllTrailer(func(k []byte) {
			b.ctx.Response.Header.SetBytesKV(k, b.resp.Header.PeekBytes(k))
		})
	}
	return n, err
}

// Close releases the upstream response and ends the request.
func (b *fastBody) Close() error {
	(*fastReq)(b).close()
	return nil
}

func (f *fastReq) close() {
	if f.resp == nil {
		return
	}
	f.unwatch()
	_ = f.resp.CloseBodyStream()
	fasthttp.ReleaseResponse(f.resp)
	f.resp = nil
	f.finish()
}
