package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The fast path forwards a plain HTTP/1.x request without
// httputil.ReverseProxy: one copy of the request (its header cloned once,
// with room for the X-Forwarded headers), no client trace, response
// headers moved rather than copied value by value. It applies the same
// rules as the ReverseProxy path (hop-by-hop headers, X-Forwarded-*,
// unparsable query parameters dropped, no Go User-Agent, flush at once
// for SSE and bodies of unknown length, trailers, abort the client's
// connection when the body breaks) and the same retrier. Everything else
// takes the ReverseProxy: upgrades (WebSocket), HTTP/2 (h2c), requests
// expecting 100-continue or asking for trailers. One difference: a 1xx
// other than 100 (103 Early Hints) is not relayed on this path.
func fastPath(r *http.Request) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	for _, k := range [...]string{"Upgrade", "Expect", "Te"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// forward sends r through the retrier and writes the response to w.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, st *state) {
	out := outRequest(r, context.WithValue(r.Context(), stateKey{}, st))
	resp, err := p.retrier.RoundTrip(out)
	if err != nil {
		p.serveError(w, out, err)
		return
	}
	writeResponse(w, resp)
}

// outRequest is the request sent upstream for r.
func outRequest(r *http.Request, ctx context.Context) *http.Request {
	out := r.WithContext(ctx)
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil // as ReverseProxy: lets the transport retry a request that never left
	}
	out.Header = cloneHeader(r.Header, 3)
	removeHopHeaders(out.Header)
	setForwarded(out.Header, r)
	if _, ok := r.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = noUserAgent // not Go's
	}
	if q := cleanQuery(r.URL.RawQuery); q != r.URL.RawQuery {
		u := *r.URL
		u.RawQuery = q
		out.URL = &u
	}
	return out
}

// noUserAgent keeps net/http from sending its own User-Agent. Shared and
// never changed in place.
var noUserAgent = []string{""}

// cloneHeader copies h into a map with room for extra more keys, values
// in one backing array (as http.Header.Clone).
func cloneHeader(h http.Header, extra int) http.Header {
	nv := 0
	for _, vv := range h {
		nv += len(vv)
	}
	sv := make([]string, nv)
	h2 := make(http.Header, len(h)+extra)
	for k, vv := range h {
		if vv == nil {
			h2[k] = nil
			continue
		}
		n := copy(sv, vv)
		h2[k] = sv[:n:n]
		sv = sv[n:]
	}
	return h2
}

// hopHeaders are the hop-by-hop headers a proxy drops (RFC 9110 7.6.1 and
// the ones ReverseProxy drops), canonical.
var hopHeaders = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopHeaders drops the hop-by-hop headers and those the Connection
// header names.
func removeHopHeaders(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// setForwarded sets X-Forwarded-For (the client's chain plus this hop's
// client), -Host and -Proto and drops Forwarded, as
// httputil.ProxyRequest.SetXForwarded does after ReverseProxy stripped
// what the client sent.
func setForwarded(h http.Header, r *http.Request) {
	delete(h, "Forwarded")
	vals := make([]string, 3) // one allocation for the three values
	vals[1], vals[2] = r.Host, "http"
	if r.TLS != nil {
		vals[2] = "https"
	}
	h["X-Forwarded-Host"], h["X-Forwarded-Proto"] = vals[1:2:2], vals[2:3:3]
	clientIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		delete(h, "X-Forwarded-For")
		return
	}
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		clientIP = strings.Join(prior, ", ") + ", " + clientIP
	}
	vals[0] = clientIP
	h["X-Forwarded-For"] = vals[0:1:1]
}

// maxQueryParams is net/http's default limit on query parameters.
const maxQueryParams = 10000

// cleanQuery drops the query parameters a Go server cannot parse (a ';',
// a bad escape), as ReverseProxy does, so the proxy and the region read
// the same parameters.
func cleanQuery(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	if strings.Count(s, "&")+1 > maxQueryParams {
		return reencode(s)
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// writeResponse writes resp to w: headers without hop-by-hop ones, the
// announced trailers, the body (flushed as it comes when it streams), the
// trailers. A body that breaks aborts the client's connection, so the
// client sees a cut response rather than a short one that looks whole.
func writeResponse(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	removeHopHeaders(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	if err := copyBody(w, resp); err != nil {
		panic(http.ErrAbortHandler)
	}
	resp.Body.Close() // now: fills resp.Trailer
	writeTrailers(w, resp, announced)
}

func writeTrailers(w http.ResponseWriter, resp *http.Response, announced int) {
	if len(resp.Trailer) == 0 {
		return
	}
	_ = http.NewResponseController(w).Flush() // chunked, so the trailers can follow
	h := w.Header()
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			h[k] = vv
		}
		return
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// copyBody copies the body with a pooled buffer. A streamed response
// (SSE, or unknown length) has its headers and every chunk flushed at once;
// any other goes through the server's buffer.
func copyBody(w http.ResponseWriter, resp *http.Response) error {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	var dst io.Writer = w
	if streams(resp) {
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		dst = &flushWriter{w: w, rc: rc}
	}
	_, err := io.CopyBuffer(dst, resp.Body, *bp)
	return err
}

// streams reports a response whose chunks must reach the client as they
// come: server-sent events, or a body of unknown length.
func streams(resp *http.Response) bool {
	if resp.ContentLength < 0 {
		return true
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (fw *flushWriter) Write(b []byte) (int, error) {
	n, err := fw.w.Write(b)
	if err == nil {
		err = fw.rc.Flush()
	}
	return n, err
}
