package invoke

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
)

// hopHeaders are connection-level headers a proxy must not pass on.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

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
	out := r.Clone(ctx)
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = "", ""
	if !iv.opts.App.Host.Handler.ForwardOriginalPath {
		functionPath(out.URL, fn.Name)
	}
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	ua := out.Header["User-Agent"]
	setInvocationHeaders(out.Header, id)
	if ua == nil {
		ua = noUserAgent // the caller sent none: send none, not Go's
	}
	out.Header["User-Agent"] = ua
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := iv.opts.Pool.Do(out)
	if err == nil && !iv.opts.App.Host.Handler.ForwardOriginalPath {
		resp, err = iv.followRedirects(out, resp)
	}
	if err != nil {
		return iv.callError(ctx, id, err)
	}
	defer resp.Body.Close()
	copyResponse(w, resp)
	if errors.Is(context.Cause(ctx), ErrTimeout) {
		return iv.fail(id, 0, context.Cause(ctx)) // status already sent; the body was cut
	}
	return nil
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
func (iv *Invoker) followRedirects(req *http.Request, resp *http.Response) (*http.Response, error) {
	for n := 0; n < maxRedirects; n++ {
		next, ok := redirectRequest(req, resp)
		if !ok {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		var err error
		if resp, err = iv.opts.Pool.Do(next); err != nil {
			return nil, err
		}
		req = next
	}
	return resp, nil
}

// redirectRequest is the request a redirect asks for, when it is one to
// follow.
func redirectRequest(req *http.Request, resp *http.Response) (*http.Request, bool) {
	loc, err := resp.Location()
	if err != nil || (loc.Host != "" && loc.Host != req.URL.Host) {
		return nil, false
	}
	method := req.Method
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodHead {
			method = http.MethodGet
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if req.Body != nil && req.Body != http.NoBody {
			return nil, false
		}
	default:
		return nil, false
	}
	next := req.Clone(req.Context())
	next.Method, next.Body, next.ContentLength = method, nil, 0
	next.Header.Del("Content-Length")
	next.Header.Del("Content-Type")
	next.URL = &url.URL{Path: loc.Path, RawPath: loc.RawPath, RawQuery: loc.RawQuery}
	return next, true
}

// functionPath points u at /<FunctionName> with the query rebuilt from its
// comma-joined values, as the host forwards for the legacy httpWorker
// section (GetPathValue, then ToHttpRequestMessage's AddQueryString).
func functionPath(u *url.URL, name string) {
	u.Path, u.RawPath = "/"+name, ""
	q := u.Query()
	if len(q) == 0 {
		u.RawQuery = ""
		return
	}
	joined := url.Values{}
	for k, v := range q {
		joined.Set(k, strings.Join(v, ","))
	}
	u.RawQuery = joined.Encode()
}

// noUserAgent is the User-Agent of a forwarded request whose caller sent
// none: an empty value, which net/http leaves out of the request.
var noUserAgent = []string{""}

func copyResponse(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	w.WriteHeader(resp.StatusCode)
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	if f, ok := w.(http.Flusher); ok && streams(resp) {
		f.Flush() // the headers now: an event stream may stay quiet for long
		_, _ = io.CopyBuffer(&flushWriter{w: w, f: f}, resp.Body, *bp)
		return
	}
	_, _ = io.CopyBuffer(w, resp.Body, *bp)
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
func streams(resp *http.Response) bool {
	if resp.ContentLength < 0 {
		return true
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
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
