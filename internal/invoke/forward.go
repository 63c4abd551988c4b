package invoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tandemhq/tandem/internal/funcapp"
)

// Forward sends r to the handler as is (forwarding mode: method, path with
// the route prefix, query, headers and body) plus the X-Azure-Functions-*
// headers, and streams the handler's response to w. Redirects are passed
// through, not followed. It returns the invocation id and an *Error when
// no response could be written.
func (iv *Invoker) Forward(w http.ResponseWriter, r *http.Request, fn *funcapp.Function) (string, error) {
	id := NewGUID()
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	err := iv.forward(sw, r, fn, id)
	iv.finish(fn, id, start, sw.status, err)
	return id, err
}

// statusWriter remembers the status a forwarded response was sent with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush passes a flush on, so streamed responses keep streaming.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// hijacks for upgrades).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (iv *Invoker) forward(w http.ResponseWriter, r *http.Request, fn *funcapp.Function, id string) error {
	ctx, cancel := iv.withTimeout(r.Context())
	defer cancel()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	iv.forwardRequest(req, r, fn, id)
	body, err := iv.opts.Pool.Call(ctx, req, resp)
	if err == nil && !iv.opts.App.Host.Handler.ForwardOriginalPath {
		body, err = iv.followRedirects(ctx, req, resp, body)
	}
	if err != nil {
		return iv.callError(ctx, id, err)
	}
	defer body.Close() // before resp is released
	copyResponse(w, resp, body)
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		return iv.fail(id, 0, context.Cause(ctx)) // status already sent; the body was cut
	}
	return nil
}

// forwardRequest builds the handler's request from r: its method, path
// and query (or /<FunctionName> for the legacy httpWorker section), Host,
// headers as they came (no cookie re-encoding, no added Content-Type or
// User-Agent) but the hop-by-hop ones, the X-Azure-Functions-* headers,
// and the body streamed as it arrives (chunked when of unknown length).
func (iv *Invoker) forwardRequest(req *fasthttp.Request, r *http.Request, fn *funcapp.Function, id string) {
	req.Header.DisableSpecialHeader()
	req.Header.SetMethod(r.Method)
	if iv.opts.App.Host.Handler.ForwardOriginalPath {
		req.SetRequestURI(r.URL.RequestURI())
	} else {
		req.SetRequestURI(functionURI(r.URL, fn.Name))
	}
	if r.Host != "" {
		req.Header.Set(fasthttp.HeaderHost, r.Host)
	}
	for k, vs := range r.Header {
		if notForwarded(k) {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set(invocationIDKey, id)
	req.Header.Set(hostVersionKey, HostVersion)
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		req.SetBodyStream(r.Body, int(r.ContentLength)) // -1: chunked
	}
}

// notForwarded reports a request header the handler does not get: a
// hop-by-hop header, the framing (set from the body), or one the
// invoker sets.
func notForwarded(k string) bool {
	switch k {
	case "Content-Length", invocationIDKey, hostVersionKey:
		return true
	}
	return hopHeader(k)
}

// hopHeader reports a connection-level header a proxy must not pass on
// (k canonical).
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// maxRedirects is how many redirects a legacy httpWorker forward follows
// (.NET HttpClientHandler.MaxAutomaticRedirections).
const maxRedirects = 50

// followRedirects follows the handler's redirects as the host's HttpClient
// does for the legacy httpWorker section (AllowAutoRedirect is on unless
// forwarding was asked for): 301, 302 and 303 become a GET without a body;
// 307 and 308 are followed only for a request without a body (it was
// streamed, not kept). Only redirects to the handler itself (a path, or
// its own address) are followed; others reach the caller as they are.
func (iv *Invoker) followRedirects(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, body io.ReadCloser) (io.ReadCloser, error) {
	for n := 0; n < maxRedirects; n++ {
		if !redirectRequest(req, resp) {
			return body, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<16))
		body.Close()
		var err error
		if body, err = iv.opts.Pool.Call(ctx, req, resp); err != nil {
			return nil, fmt.Errorf("follow redirect: %w", err)
		}
	}
	return body, nil
}

// redirectRequest turns req into the request resp redirects to, when it
// is a redirect to follow.
func redirectRequest(req *fasthttp.Request, resp *fasthttp.Response) bool {
	loc, ok := redirectTarget(req, resp)
	if !ok {
		return false
	}
	method := string(req.Header.Method())
	switch resp.StatusCode() {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodHead {
			method = http.MethodGet
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if req.Header.ContentLength() != 0 {
			return false
		}
	default:
		return false
	}
	req.ResetBody()
	for _, k := range []string{"Content-Length", "Content-Type", "Transfer-Encoding"} {
		req.Header.Del(k)
	}
	req.Header.SetMethod(method)
	req.SetRequestURI(loc.RequestURI())
	return true
}

// redirectTarget is resp's Location resolved against req's URI, when it
// points at the handler itself (a path, or the instance's own address).
func redirectTarget(req *fasthttp.Request, resp *fasthttp.Response) (*url.URL, bool) {
	raw := resp.Header.Peek("Location")
	if len(raw) == 0 {
		return nil, false
	}
	base, err := url.ParseRequestURI(string(req.Header.RequestURI()))
	if err != nil {
		return nil, false
	}
	loc, err := base.Parse(string(raw))
	if err != nil {
		return nil, false
	}
	if loc.Host != "" && (resp.RemoteAddr() == nil || loc.Host != resp.RemoteAddr().String()) {
		return nil, false
	}
	return loc, true
}

// functionURI is /<name> with the query rebuilt from u's comma-joined
// values, as the host forwards for the legacy httpWorker section
// (GetPathValue, then ToHttpRequestMessage's AddQueryString).
func functionURI(u *url.URL, name string) string {
	out := url.URL{Path: "/" + name}
	q := u.Query()
	if len(q) > 0 {
		joined := url.Values{}
		for k, v := range q {
			joined.Set(k, strings.Join(v, ","))
		}
		out.RawQuery = joined.Encode()
	}
	return out.RequestURI()
}

// copyResponse writes the handler's response to w: status, headers but
// the hop-by-hop ones, and the body, flushed write by write when the
// handler streams it.
func copyResponse(w http.ResponseWriter, resp *fasthttp.Response, body io.Reader) {
	copyHeaders(w.Header(), &resp.Header)
	w.WriteHeader(resp.StatusCode())
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	if f, ok := w.(http.Flusher); ok && streams(&resp.Header) {
		f.Flush() // the headers now: an event stream may stay quiet for long
		_, _ = io.CopyBuffer(&flushWriter{w: w, f: f}, body, *bp)
		return
	}
	_, _ = io.CopyBuffer(w, body, *bp)
}

// copyHeaders adds the response's headers to h (fasthttp gives them in
// canonical form), the values of all of them in one slice.
func copyHeaders(h http.Header, rh *fasthttp.ResponseHeader) {
	vals := make([]string, 0, rh.Len()+4) // Len leaves out Content-Type and the like
	for k, v := range rh.All() {
		key, ok := commonKeys[string(k)]
		if !ok {
			key = string(k)
		}
		if hopHeader(key) {
			continue
		}
		if prev, dup := h[key]; dup {
			h[key] = append(prev, string(v))
			continue
		}
		vals = append(vals, string(v))
		h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
}

// commonKeys are response header names used without a copy.
var commonKeys = map[string]string{}

func init() {
	for _, k := range []string{"Content-Type", "Content-Length", "Date", "Server", "Cache-Control", "Set-Cookie", "Location", "Etag", "Last-Modified", "Vary", "Expires", "Content-Encoding", "X-Content-Type-Options", "Access-Control-Allow-Origin", "Transfer-Encoding", "Connection", "Keep-Alive"} {
		commonKeys[k] = k
	}
}

// copyBuffers recycles the buffers forwarded response bodies are copied
// with (a fresh 32 KiB per request was most of the bytes the gateway
// allocated).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// streams reports whether the handler streams its response, so each chunk
// must reach the client as it comes: server-sent events, or a body of
// unknown length (chunked, or read until close). A response of known
// length is written through the server's buffer and flushed once, when
// the request ends (httputil.ReverseProxy's rule).
func streams(h *fasthttp.ResponseHeader) bool {
	if h.ContentLength() < 0 {
		return true
	}
	ct, _, _ := bytes.Cut(h.ContentType(), []byte(";"))
	return bytes.EqualFold(bytes.TrimSpace(ct), []byte("text/event-stream"))
}

// flushWriter flushes after every write so streamed responses (SSE) reach
// the client as the handler writes them.
type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	fw.f.Flush()
	return n, err
}
