// Package proxy is the traffic manager's L7 reverse proxy. It exists so that
// failover costs clients nothing they could not have lost anyway: a request
// goes to the endpoint the routing method prefers and, when that endpoint
// fails in a way that makes a second try safe, to the next one. The rules:
//
//   - a request that never left (connect refused, connect timeout) moves to
//     the next endpoint whatever its method;
//   - an idempotent request (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any
//     request with an Idempotency-Key header) whose body fits in MaxBodyBytes
//     is also retried on an empty reply, a response timeout, 502, 503 or 504;
//   - anything else that may have reached a region (a POST without an
//     Idempotency-Key, a body too large to replay) is never sent twice,
//     except a 503 carrying X-Tandem-Refused: a secondary region refused
//     it before running or writing anything, so it moves on like a request
//     that never left (if its body is buffered or was never read), and
//     does not use up an attempt: each endpoint that refused is tried
//     once more after the others (the standby about to be promoted, not
//     the region that failed); when the last attempt was refused, it
//     goes once to the Picker's fallback (Fallbacker: the primary the
//     refusal named, or the traffic manager's, even with its probes down),
//     and the refusal is the answer if that one does not reply.
//
// Bodies stream in both directions (only replayable bodies under the limit
// are buffered); SSE flushes at once and WebSocket upgrades pass through.
// Each attempt's outcome is reported so the caller can mark endpoints down
// from live traffic.
//
// Two HTTP engines apply these rules through the same retry walk (walk):
// the Frontend serves plain HTTP/1.1 on fasthttp (ServeFast, h1.go), about
// half net/http's CPU per request, and hands what needs net/http (h2c,
// upgrades, Expect: 100-continue, targets without a fasthttp client) to
// an http.Server running Proxy's ServeHTTP (httputil.ReverseProxy with the
// retrier as its transport).
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Target is one endpoint a request may be sent to.
type Target struct {
	Name      string
	URL       *url.URL // scheme, host and optional path prefix
	Transport http.RoundTripper
	// Client is the HTTP/1.1 engine's pool for the endpoint (NewTarget
	// sets both). A request whose targets lack one is served by net/http.
	Client *fasthttp.HostClient
}

// Picker chooses the endpoints for a request, best first. An error (or no
// target) answers 503 with the error's text: every endpoint is down. The
// proxy only reads the slice, so a Picker may hand the same one to many
// requests.
type Picker interface {
	Pick() ([]Target, error)
}

// Fallbacker is optionally implemented by a Picker: where to send a
// request whose last attempt a region refused (503 with RefusedHeader, a
// secondary refusing a write because it sees its primary answer). hint is
// the primary the refusing region named (PrimaryHeader; "" if none). The
// traffic manager offers that region, then the primary the control plane
// named, whether or not its probes have them up: a region just promoted,
// or just back, is marked up only after its next probes, and in a planned
// switch the regions may follow the new primary before the manager has
// read the new role. The proxy tries the first that did not refuse or time
// out in this walk.
type Fallbacker interface {
	Fallback(hint string) []Target
}

// Options configures a Proxy.
type Options struct {
	Picker       Picker
	MaxBodyBytes int64 // largest body buffered so a request can be replayed
	Attempts     int   // most endpoints tried per request (default 3)
	// Report is told the outcome of every attempt (for passive outlier
	// detection and metrics). A client that went away is not reported.
	Report func(t Target, o Outcome, d time.Duration)
	// Done is told how each request ended: the endpoint that answered
	// (empty when none did), the status sent to the client and the time.
	Done   func(endpoint string, status int, d time.Duration)
	Logger *slog.Logger
}

// Proxy is an http.Handler that forwards to the targets a Picker chooses.
type Proxy struct {
	opts    Options
	rp      *httputil.ReverseProxy // net/http's engine: h2c, upgrades, 100-continue
	retrier *retrier
}

// New returns a Proxy.
func New(opts Options) *Proxy {
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Proxy{opts: opts}
	p.retrier = &retrier{p: p}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       rewrite,
		Transport:     p.retrier,
		ErrorHandler:  p.serveError,
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		BufferPool:    bufferPool{},
		FlushInterval: 0, // flush at once for SSE and unknown lengths (ReverseProxy rule)
	}
	return p
}

// rewrite sets X-Forwarded-For/Host/Proto from this hop and keeps the
// client's Host header, so regions see the public name.
func rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	pr.Out.Host = pr.In.Host
}

type stateKey struct{}

// state is one request's journey across attempts.
type state struct {
	targets    []Target
	path       *url.URL // the request's URL before the first attempt pointed it at its target
	idempotent bool
	buffered   []byte // replayable body, nil when streamed or empty
	replayable bool
	body       *trackedBody // streamed body, nil when buffered or empty
	tried      []attemptLog
	// primaryHint is the primary the last refusing region named
	// (PrimaryHeader), for the fallback.
	primaryHint string
	served      string
	status      int
}

type attemptLog struct {
	target  string
	outcome Outcome
	err     string
}

// ServeHTTP forwards r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &state{}
	defer func() { p.done(st, start) }()
	targets, err := p.opts.Picker.Pick()
	if err == nil && len(targets) == 0 {
		err = errors.New("no endpoint is available")
	}
	if err != nil {
		st.status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
		writeError(w, st.status, "no healthy endpoint: "+err.Error(), nil)
		return
	}
	st.targets = targets
	st.idempotent = Idempotent(r)
	if err := p.prepareBody(r, st); err != nil {
		st.status = http.StatusBadRequest
		writeError(w, st.status, "read request body: "+err.Error(), nil)
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	if st.status == 0 {
		st.status = http.StatusOK // upgraded or streamed without a recorded status
	}
}

func (p *Proxy) done(st *state, start time.Time) {
	if p.opts.Done != nil {
		p.opts.Done(st.served, st.status, time.Since(start))
	}
}

// Idempotent reports whether r may be sent twice: an idempotent method, or
// any method carrying an Idempotency-Key header.
func Idempotent(r *http.Request) bool {
	return idempotent(r.Method, r.Header.Get("Idempotency-Key") != "" || r.Header.Get("X-Idempotency-Key") != "")
}

func idempotent(method string, hasKey bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return hasKey
}

// prepareBody buffers a replayable request's body when it fits the limit;
// otherwise the body streams and is tracked so an attempt that never read
// it can still move on.
func (p *Proxy) prepareBody(r *http.Request, st *state) error {
	if r.Body == nil || r.Body == http.NoBody {
		st.replayable = true
		return nil
	}
	if err := p.readBody(st, r.Body, r.ContentLength); err != nil {
		return err
	}
	if st.buffered != nil {
		r.ContentLength = int64(len(st.buffered))
		r.Body = io.NopCloser(bytes.NewReader(st.buffered))
	}
	return nil
}

// readBody is prepareBody for a body of length n (-1: unknown), either
// engine's: st gets the buffered bytes or the tracked stream.
func (p *Proxy) readBody(st *state, body io.Reader, n int64) error {
	if n == 0 {
		st.replayable = true
		return nil
	}
	if !st.idempotent || n > p.opts.MaxBodyBytes {
		st.body = &trackedBody{r: body}
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, p.opts.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	if int64(len(buf)) > p.opts.MaxBodyBytes {
		st.body = &trackedBody{r: io.MultiReader(bytes.NewReader(buf), body)}
		return nil
	}
	st.buffered, st.replayable = buf, true
	return nil
}

// serveError answers when no attempt produced a response.
func (p *Proxy) serveError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(stateKey{}).(*state)
	if st == nil {
		st = &state{}
	}
	st.status = errorStatus(st, err, errors.Is(err, context.Canceled) && r.Context().Err() != nil)
	p.opts.Logger.Debug("proxy: no response", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, st.status, "no endpoint answered: "+err.Error(), st.tried)
}

// errorStatus is the status for a request no attempt answered: 504 after
// a response timeout, 499 when the client went away, else 502.
func errorStatus(st *state, err error, clientGone bool) int {
	switch {
	case clientGone:
		return 499 // client closed the request; nothing reaches it anyway
	case len(st.tried) > 0 && st.tried[len(st.tried)-1].outcome == Timeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

func writeError(w http.ResponseWriter, code int, msg string, tried []attemptLog) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(errorBody(msg, tried))
}

// errorBody is the JSON body of an error answer: the message and each
// attempt's endpoint, outcome and error.
func errorBody(msg string, tried []attemptLog) []byte {
	body := map[string]any{"error": msg}
	if len(tried) > 0 {
		var ts []map[string]string
		for _, a := range tried {
			ts = append(ts, map[string]string{"endpoint": a.target, "outcome": a.outcome.String(), "error": a.err})
		}
		body["attempts"] = ts
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(body)
	return buf.Bytes()
}

// bufferPool recycles the 32 KiB buffers ReverseProxy copies bodies with.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
