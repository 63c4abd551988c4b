package invoke

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	err := iv.forward(w, r, fn, id)
	iv.finish(fn, id, start, err)
	return id, err
}

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
	setInvocationHeaders(out.Header, id)
	out.Header.Set("User-Agent", r.Header.Get("User-Agent"))
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := iv.opts.Pool.Do(out)
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

func copyResponse(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	w.WriteHeader(resp.StatusCode)
	fw := flushWriter{w: w}
	if f, ok := w.(http.Flusher); ok {
		fw.f = f
	}
	_, _ = io.Copy(fw, resp.Body)
}

// flushWriter flushes after every write so streamed responses (SSE) reach
// the client as the handler writes them.
type flushWriter struct {
	w io.Writer
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}
