package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The HTTP/1.1 engine's path: a plain HTTP/1.x request served by
// fasthttp and sent with each target's fasthttp.HostClient, walked by the
// same retry rules (walk) and reported the same way as the net/http path.
// It keeps that path's rules: hop-by-hop headers dropped both ways (and
// those Connection names), X-Forwarded-For/Host/Proto set, Forwarded
// dropped, the client's Host kept, no User-Agent added, unparsable query
// parameters dropped, Te: trailers passed, trailers relayed, bodies
// streamed both ways (only replayable bodies under MaxBodyBytes are
// buffered), chunks of a body of unknown length flushed as they come
// (SSE), a body that breaks cuts the client's connection. Upgrades and
// Expect: 100-continue are handed to net/http by the Frontend.

// fastReq is one request's state on this path, pooled.
type fastReq struct {
	p     *Proxy
	st    state
	ctx   *fasthttp.RequestCtx
	out   fasthttp.Request
	uri   []byte
	xff   []byte
	start time.Time
	resp  *fasthttp.Response // the response being relayed

	watched   *replayConn // the client's connection watch reads
	watchDone chan struct{}
}

var fastReqs = sync.Pool{New: func() any { return new(fastReq) }}

// ServeFast forwards the request of ctx. It reports false, having done
// nothing, when a target has no fasthttp client: net/http must serve it.
func (p *Proxy) ServeFast(ctx *fasthttp.RequestCtx) bool {
	targets, err := p.opts.Picker.Pick()
	for _, t := range targets {
		if t.Client == nil {
			return false
		}
	}
	f := fastReqs.Get().(*fastReq)
	f.p, f.ctx, f.start = p, ctx, time.Now()
	st := &f.st
	if err == nil && len(targets) == 0 {
		err = errors.New("no endpoint is available")
	}
	if err != nil {
		ctx.Response.Header.Set("Retry-After", "1")
		f.fail(fasthttp.StatusServiceUnavailable, "no healthy endpoint: "+err.Error(), nil)
		return true
	}
	st.targets = targets
	h := &ctx.Request.Header
	st.idempotent = idempotent(string(h.Method()), len(h.Peek("Idempotency-Key")) > 0 || len(h.Peek("X-Idempotency-Key")) > 0)
	body, n := requestBody(ctx), int64(h.ContentLength())
	if body == nil {
		n = 0
	}
	if err := p.readBody(st, body, n); err != nil {
		f.fail(fasthttp.StatusBadRequest, "read request body: "+err.Error(), nil)
		return true
	}
	f.outRequest()
	resp, err := walk[*fasthttp.Response](p, st, f)
	if err != nil {
		f.fail(errorStatus(st, err, false), "no endpoint answered: "+err.Error(), st.tried)
		return true
	}
	f.relay(resp)
	return true
}

// requestBody is the client's body as it streams (nil when there is none).
func requestBody(ctx *fasthttp.RequestCtx) io.Reader {
	if r := ctx.RequestBodyStream(); r != nil {
		return r
	}
	if len(ctx.Request.Body()) == 0 {
		return nil
	}
	return bytes.NewReader(ctx.Request.Body())
}

// fail answers the client with an error body and ends the request.
func (f *fastReq) fail(code int, msg string, tried []attemptLog) {
	f.st.status = code
	f.p.opts.Logger.Debug("proxy: no response", "path", string(f.ctx.Path()), "status", code, "err", msg)
	r := &f.ctx.Response
	r.SetStatusCode(code)
	r.Header.SetContentType("application/json")
	r.Header.Set("Cache-Control", "no-store")
	r.SetBodyRaw(errorBody(msg, tried))
	f.finish()
}

// finish reports the request and returns f to the pool.
func (f *fastReq) finish() {
	f.p.done(&f.st, f.start)
	f.st = state{tried: f.st.tried[:0]}
	f.out.Reset()
	f.p, f.ctx, f.resp = nil, nil, nil
	fastReqs.Put(f)
}

// outRequest builds the request sent upstream: the client's headers
// without hop-by-hop ones, with X-Forwarded-*.
func (f *fastReq) outRequest() {
	in, out := &f.ctx.Request.Header, &f.out
	in.CopyTo(&out.Header)
	out.UseHostHeader = true
	out.Header.ResetConnectionClose()
	var scan hopScan
	out.Header.VisitAll(scan.visit)
	if scan.hop { // most requests have none: the deletes below cost more than the scan
		removeFastHop(out.Header.Peek("Connection"), out.Header.DelBytes)
		for _, k := range hopHeaders {
			out.Header.Del(k)
		}
		if hasToken(in.Peek("Te"), "trailers") {
			out.Header.Set("Te", "trailers") // the one value a proxy passes (as ReverseProxy)
		}
	}
	if scan.forwarded {
		out.Header.Del("Forwarded")
	}
	f.setForwarded()
}

// hopScan records, over one pass of a header, whether it has a hop-by-hop
// header (trailers: except Trailer and Transfer-Encoding, which frame a
// response the engine writes itself) or Forwarded.
type hopScan struct {
	trailers       bool
	hop, forwarded bool
}

func (s *hopScan) visit(k, _ []byte) {
	if equalFold(k, "Forwarded") {
		s.forwarded = true
		return
	}
	for _, h := range hopHeaders {
		if equalFold(k, h) && !(s.trailers && (h == "Trailer" || h == "Transfer-Encoding")) {
			s.hop = true
		}
	}
}

// equalFold is bytes.EqualFold for ASCII header names, without converting.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}

// setForwarded sets X-Forwarded-For (the client's chain plus this hop's
// client), -Host and -Proto, as setForwarded does on the net/http path.
func (f *fastReq) setForwarded() {
	h, in := &f.out.Header, &f.ctx.Request.Header
	h.SetCanonical(xfHost, f.ctx.Host())
	h.SetCanonical(xfProto, []byte(scheme(f.ctx.IsTLS())))
	ip, ok := clientIP(f.ctx.RemoteAddr())
	if !ok {
		h.DelBytes(xfFor)
		return
	}
	f.xff = f.xff[:0]
	for _, v := range in.PeekAll("X-Forwarded-For") {
		f.xff = append(append(f.xff, v...), ", "...)
	}
	f.xff = ip.AppendTo(f.xff)
	h.SetCanonical(xfFor, f.xff)
}

// The X-Forwarded header names, canonical (set without normalizing).
var xfHost, xfProto, xfFor = []byte("X-Forwarded-Host"), []byte("X-Forwarded-Proto"), []byte("X-Forwarded-For")

func scheme(tls bool) string {
	if tls {
		return "https"
	}
	return "http"
}

// clientIP is the address of a TCP peer.
func clientIP(a net.Addr) (netip.Addr, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	ip := ta.AddrPort().Addr().Unmap()
	return ip, ip.IsValid()
}

// removeFastHop deletes each header a Connection value names.
func removeFastHop(conn []byte, del func([]byte)) {
	for len(conn) > 0 {
		var tok []byte
		tok, conn, _ = bytes.Cut(conn, []byte{','})
		if tok = bytes.TrimSpace(tok); len(tok) > 0 {
			del(tok)
		}
	}
}

func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		if bytes.EqualFold(bytes.TrimSpace(tok), []byte(token)) {
			return true
		}
	}
	return false
}

// targetURI is the request URI for t: its path prefix, then the client's
// path and (cleaned) query.
func (f *fastReq) targetURI(t Target) []byte {
	raw := f.ctx.Request.Header.RequestURI()
	f.uri = f.uri[:0]
	if p := t.URL.Path; p != "" && p != "/" {
		f.uri = append(f.uri, bytes.TrimSuffix([]byte(p), []byte{'/'})...)
		raw = bytes.TrimPrefix(raw, []byte{'/'})
		f.uri = append(f.uri, '/')
	}
	path, query, hasQuery := bytes.Cut(raw, []byte{'?'})
	f.uri = append(f.uri, path...)
	if hasQuery {
		if !validQuery(query) {
			query = []byte(cleanQuery(string(query)))
		}
		if len(query) > 0 {
			f.uri = append(append(f.uri, '?'), query...)
		}
	}
	return f.uri
}

// smallBody is the largest response body that keeps the response-header
// deadline: it came with the headers' read, or right after them. Lifting
// a deadline costs a timer update on every request.
const smallBody = 4 << 10

// attempt sends the request to t once (attempter for walk).
func (f *fastReq) attempt(t Target, _ bool) (*fasthttp.Response, Outcome, error) {
	st := &f.st
	f.out.SetRequestURIBytes(f.targetURI(t))
	f.setBody()
	resp := fasthttp.AcquireResponse()
	start := time.Now()
	err := t.Client.Do(&f.out, resp)
	if err != nil && staleConn(resp, err) {
		// The backend closed an idle connection: the others it held were
		// likely closed too (a restart, a healed partition), so none is
		// reused; a replayable idempotent request goes once more, on a
		// new connection.
		t.Client.CloseIdleConnections()
		if st.idempotent && st.replayable {
			resp.Reset()
			f.setBody()
			err = t.Client.Do(&f.out, resp)
		}
	}
	if err != nil {
		var de *dialError
		o := classifyErr(false, err, !errors.As(err, &de) || st.bodyRead())
		fasthttp.ReleaseResponse(resp)
		err = fmt.Errorf("%s: %w", t.Name, err)
		f.p.record(st, t, o, err, "", start)
		return nil, o, err
	}
	if n := resp.Header.ContentLength(); n < 0 || n > smallBody {
		if c := connOf(resp); c != nil {
			_ = c.Conn.SetReadDeadline(time.Time{}) // the body streams without the header deadline
		}
	}
	code := resp.StatusCode()
	o := classifyStatus(code, len(resp.Header.Peek(RefusedHeader)) > 0)
	if o == Refused {
		st.primaryHint = string(resp.Header.Peek(PrimaryHeader))
	}
	text := ""
	if isBadStatus(code) {
		text = fmt.Sprintf("%d %s", code, fasthttp.StatusMessage(code))
	}
	f.p.record(st, t, o, nil, text, start)
	return resp, o, nil
}

func (f *fastReq) setBody() {
	switch st := &f.st; {
	case st.buffered != nil:
		f.out.SetBodyRaw(st.buffered)
	case st.body != nil:
		f.out.SetBodyStream(st.body, f.ctx.Request.Header.ContentLength())
	default:
		f.out.ResetBody()
	}
}

func (f *fastReq) status(resp *fasthttp.Response) int { return resp.StatusCode() }

func (f *fastReq) discard(resp *fasthttp.Response) {
	if resp == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, bodyOf(resp), 64<<10)
	_ = resp.CloseBodyStream()
	fasthttp.ReleaseResponse(resp)
}

func bodyOf(resp *fasthttp.Response) io.Reader {
	if r := resp.BodyStream(); r != nil {
		return r
	}
	return bytes.NewReader(resp.Body())
}
