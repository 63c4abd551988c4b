// Package invoke calls a function the way the Azure Functions host calls a
// custom handler: it builds the payload-mode request (Data, Metadata and
// the X-Azure-Functions-* headers) or forwards an HTTP request, enforces
// functionTimeout, parses the handler's reply, and writes its outputs
// through the binders of other packages (queues, tables). HTTP, queue and
// timer triggers all invoke through here, so metering and logging are the
// same for every trigger.
package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/host"
	"github.com/tandemhq/tandem/internal/hostjson"
)

// HostVersion is what Tandem reports as the Functions host version.
const HostVersion = "4.1040.0"

// Binder reads input bindings and writes output bindings of one type.
type Binder interface {
	Input(ctx context.Context, app string, b funcapp.Binding, e Expressions) (json.RawMessage, error)
	Output(ctx context.Context, app string, b funcapp.Binding, e Expressions, v json.RawMessage) error
}

// Meter records one finished invocation.
type Meter interface {
	Observe(app, function string, d time.Duration, ok bool, memBytes int64)
}

// Options configures an Invoker.
type Options struct {
	App     *funcapp.App
	Pool    *host.Pool
	Binders map[string]Binder // by funcapp binding kind ("queue", "table")
	Meter   Meter
	Logger  *slog.Logger
	// NoAccessLog turns off the info line logged for every invocation
	// (function, status, duration, invocation id).
	NoAccessLog bool
	// MaxReply bounds a handler reply body (default 100 MiB).
	MaxReply int64
}

// Invoker invokes the functions of one app.
type Invoker struct {
	opts Options
	log  *slog.Logger
	// timeoutCause is the cause a call past functionTimeout ends with,
	// built once (the timeout is fixed per app version).
	timeoutCause error
}

// New returns an Invoker.
func New(opts Options) *Invoker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxReply <= 0 {
		opts.MaxReply = 100 << 20
	}
	iv := &Invoker{opts: opts, log: opts.Logger.With("app", opts.App.Name)}
	if d := opts.App.Host.FunctionTimeout; d > 0 {
		iv.timeoutCause = fmt.Errorf("%w after %s", ErrTimeout, d)
	}
	return iv
}

// App is the app this invoker serves.
func (iv *Invoker) App() *funcapp.App { return iv.opts.App }

// Trigger is what a trigger hands to the function.
type Trigger struct {
	Value    json.RawMessage // Data[<trigger binding name>]
	Metadata map[string]any
	// Expressions are extra binding-expression values that are not sent
	// as Metadata, such as {queueTrigger}.
	Expressions Expressions
}

// Result is a finished payload-mode invocation.
type Result struct {
	InvocationID string
	Reply        *Reply
	HTTP         *HTTPResponse // the http output, when the function has one
}

// Error is a failed invocation; Status is the HTTP status a gateway shows,
// RetryAfter (when set) its Retry-After. NotRun says the invocation was
// refused before anything ran (an Admitter said no): nothing was read,
// called or written, so the request may safely go to another region.
type Error struct {
	InvocationID string
	Status       int
	RetryAfter   time.Duration
	NotRun       bool
	Err          error
}

// Admitter is a Binder that can refuse a function's output binding before
// the function runs: a secondary region refuses every function that would
// write (a queue or table output) instead of running it and failing its
// writes afterwards.
type Admitter interface {
	Admit(ctx context.Context, app string, b funcapp.Binding) error
}

// HostValuer is a Binder whose Input values are already what the host
// sends (a blob input: base64 for binary, the text serialized as a string
// otherwise), so the invoker does not apply hostjson.Value to them again.
type HostValuer interface {
	HostValued() bool
}

// Refusal is a binder error that carries its own status and Retry-After:
// a secondary region refusing an output binding's write (503).
type Refusal interface {
	error
	HTTPStatus() int
	RetryAfter() time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Invoke runs fn in payload mode.
func (iv *Invoker) Invoke(ctx context.Context, fn *funcapp.Function, t Trigger) (*Result, error) {
	id := NewGUID()
	start := time.Now()
	res, err := iv.invoke(ctx, fn, t, id)
	status := 0
	if res != nil && res.HTTP != nil {
		status = res.HTTP.StatusCode
	}
	iv.finish(fn, id, start, status, err)
	return res, err
}

func (iv *Invoker) invoke(ctx context.Context, fn *funcapp.Function, t Trigger, id string) (*Result, error) {
	ctx, cancel := iv.withTimeout(ctx)
	defer cancel()
	exprs := expressions(fn, t)
	p := Payload{Data: map[string]json.RawMessage{fn.Trigger().Name: t.Value}, Metadata: t.Metadata}
	if err := iv.admit(ctx, fn); err != nil {
		e := iv.failOutput(id, err).(*Error)
		e.NotRun = true
		return nil, e
	}
	if err := iv.inputs(ctx, fn, exprs, p.Data); err != nil {
		return nil, iv.fail(id, http.StatusInternalServerError, err)
	}
	reply, err := iv.call(ctx, fn, id, p)
	if err != nil {
		return nil, err
	}
	iv.logLines(fn, id, reply.Logs)
	res := &Result{InvocationID: id, Reply: reply}
	if err := iv.outputs(ctx, fn, exprs, reply, res); err != nil {
		return nil, iv.failOutput(id, err)
	}
	return res, nil
}

// expressions are the binding-expression values of t, for fn's input and
// output bindings; nil when fn has none besides its trigger and an http
// output (flattening the metadata is a fifth of an invocation's CPU).
func expressions(fn *funcapp.Function, t Trigger) Expressions {
	if !bindsData(fn) {
		return nil
	}
	exprs := ExpressionsFrom(t.Metadata)
	for k, v := range t.Expressions {
		exprs[k] = v
	}
	return exprs
}

// bindsData reports whether fn has a binding that a binder resolves: any
// but its trigger and its http output.
func bindsData(fn *funcapp.Function) bool {
	for i := range fn.Bindings {
		k := fn.Bindings[i].Type // compared without Kind's lower-cased copy
		trigger := len(k) >= len("trigger") && strings.EqualFold(k[len(k)-len("trigger"):], "trigger")
		if !trigger && !strings.EqualFold(k, funcapp.HTTP) {
			return true
		}
	}
	return false
}

func (iv *Invoker) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := iv.opts.App.Host.FunctionTimeout; d > 0 {
		return context.WithTimeoutCause(ctx, d, iv.timeoutCause)
	}
	return context.WithCancel(ctx)
}

// ErrTimeout reports an invocation that ran past functionTimeout.
var ErrTimeout = errors.New("function timed out (functionTimeout)")

// admit asks the binders of fn's output bindings whether it may run.
func (iv *Invoker) admit(ctx context.Context, fn *funcapp.Function) error {
	for b := range outputsOf(fn) {
		a, ok := iv.opts.Binders[b.Kind()].(Admitter)
		if !ok {
			continue
		}
		if err := a.Admit(ctx, iv.opts.App.Name, *b); err != nil {
			return fmt.Errorf("output binding %q: %w", b.Name, err)
		}
	}
	return nil
}

func (iv *Invoker) inputs(ctx context.Context, fn *funcapp.Function, e Expressions, data map[string]json.RawMessage) error {
	for _, b := range fn.Inputs() {
		binder, ok := iv.opts.Binders[b.Kind()]
		if !ok {
			return fmt.Errorf("input binding %q: no %s binder in this region", b.Name, b.Type)
		}
		v, err := binder.Input(ctx, iv.opts.App.Name, b, e)
		if err != nil {
			return fmt.Errorf("input binding %q: %w", b.Name, err)
		}
		if hv, ok := binder.(HostValuer); ok && hv.HostValued() {
			data[b.Name] = v // already in the host's form (a blob's bytes or text)
			continue
		}
		data[b.Name] = hostjson.Value(v) // the host's rule: an entity stays an object, a list becomes a string
	}
	return nil
}

func (iv *Invoker) call(ctx context.Context, fn *funcapp.Function, id string, p Payload) (*Reply, error) {
	parts, err := p.encode()
	if err != nil {
		return nil, iv.fail(id, http.StatusInternalServerError, fmt.Errorf("encode payload: %w", err))
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(http.MethodPost)
	req.SetRequestURI("/" + fn.Name)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent(hostUserAgent)
	req.Header.Set(invocationIDKey, id)
	req.Header.Set(hostVersionKey, HostVersion)
	parts.setBody(req)
	body, err := iv.opts.Pool.Call(ctx, req, resp)
	if err != nil {
		return nil, iv.callError(ctx, id, err)
	}
	raw, err := readReply(body, resp.Header.ContentLength(), iv.opts.MaxReply)
	body.Close()
	if err != nil {
		return nil, iv.callError(ctx, id, fmt.Errorf("read handler reply: %w", err))
	}
	if status := resp.StatusCode(); status < 200 || status > 299 {
		return nil, iv.fail(id, http.StatusInternalServerError, fmt.Errorf("%w: %d %s", ErrHandlerStatus, status, snippet(raw)))
	}
	reply, err := ParseReply(raw)
	if err != nil {
		return nil, iv.fail(id, http.StatusInternalServerError, fmt.Errorf("%w (body: %s)", err, snippet(raw)))
	}
	return reply, nil
}

// readReply reads a reply body of up to limit bytes (what is past it is
// left unread), into a buffer of the announced length when there is one.
func readReply(body io.Reader, length int, limit int64) ([]byte, error) {
	if length < 0 || int64(length) > limit {
		return io.ReadAll(io.LimitReader(body, limit))
	}
	raw := make([]byte, length)
	_, err := io.ReadFull(body, raw)
	return raw, err
}

// Names and fixed values of the headers of every call.
var (
	invocationIDKey = http.CanonicalHeaderKey("X-Azure-Functions-InvocationId")
	hostVersionKey  = http.CanonicalHeaderKey("X-Azure-Functions-HostVersion")
	hostUserAgent   = "Azure-Functions-Host/" + HostVersion
)

// callError maps a failed call: a timeout, a crash, a shut-down pool.
func (iv *Invoker) callError(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(err, host.ErrNotReady): // says why (starting, or a restart delay), not just "timed out"
		return iv.fail(id, http.StatusServiceUnavailable, err)
	case errors.Is(context.Cause(ctx), ErrTimeout):
		return iv.fail(id, http.StatusInternalServerError, context.Cause(ctx))
	case errors.Is(err, host.ErrCrashed):
		return iv.fail(id, http.StatusBadGateway, err)
	case errors.Is(err, host.ErrClosed), errors.Is(ctx.Err(), context.Canceled):
		return iv.fail(id, http.StatusServiceUnavailable, err)
	default:
		return iv.fail(id, http.StatusServiceUnavailable, err)
	}
}

func (iv *Invoker) fail(id string, status int, err error) error {
	return &Error{InvocationID: id, Status: status, Err: err}
}

// failOutput maps an output binding's failure: a Refusal keeps its status
// and Retry-After, anything else is a 500.
func (iv *Invoker) failOutput(id string, err error) error {
	var r Refusal
	if errors.As(err, &r) {
		return &Error{InvocationID: id, Status: r.HTTPStatus(), RetryAfter: r.RetryAfter(), Err: err}
	}
	return iv.fail(id, http.StatusInternalServerError, err)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

func (iv *Invoker) logLines(fn *funcapp.Function, id string, lines []string) {
	for _, l := range lines {
		iv.log.Info(l, "function", fn.Name, "invocationId", id, "source", "handler")
	}
}

func (iv *Invoker) outputs(ctx context.Context, fn *funcapp.Function, e Expressions, reply *Reply, res *Result) error {
	for b := range outputsOf(fn) {
		v, ok := reply.Output(b.Name)
		if b.Kind() == funcapp.HTTP {
			if err := setHTTP(res, v, ok); err != nil {
				return err
			}
			continue
		}
		if !ok {
			continue
		}
		binder, found := iv.opts.Binders[b.Kind()]
		if !found {
			return fmt.Errorf("output binding %q: no %s binder in this region", b.Name, b.Type)
		}
		if err := binder.Output(ctx, iv.opts.App.Name, *b, e, v); err != nil {
			return fmt.Errorf("output binding %q: %w", b.Name, err)
		}
	}
	return nil
}

// outputsOf yields fn's output bindings in order, without the copy of
// them Function.Outputs makes on every call (a binding is some 300 bytes).
func outputsOf(fn *funcapp.Function) iter.Seq[*funcapp.Binding] {
	return func(yield func(*funcapp.Binding) bool) {
		for i := range fn.Bindings {
			if strings.EqualFold(fn.Bindings[i].Direction, "out") && !yield(&fn.Bindings[i]) {
				return
			}
		}
	}
}

func setHTTP(res *Result, v json.RawMessage, ok bool) error {
	if !ok {
		res.HTTP = &HTTPResponse{StatusCode: http.StatusNoContent, Headers: http.Header{}}
		return nil
	}
	h, err := ParseHTTPOutput(v)
	if err != nil {
		return err
	}
	res.HTTP = h
	return nil
}

// finish logs and meters an invocation: an access line at info (off with
// NoAccessLog) with the HTTP status when there is one, the error when it
// failed.
func (iv *Invoker) finish(fn *funcapp.Function, id string, start time.Time, status int, err error) {
	if err == nil {
		iv.finished(fn, id, time.Since(start), status)
		return
	}
	var ie *Error
	if errors.As(err, &ie) && ie.NotRun {
		iv.log.Info("invocation refused before it ran", "function", fn.Name, "invocationId", id, "err", err)
		return // not an execution: nothing ran
	}
	if errors.As(err, &ie) && ie.Status != 0 {
		status = ie.Status
	}
	d := time.Since(start)
	iv.log.Error("invocation failed", "function", fn.Name, "invocationId", id, "duration", d, "status", status, "err", err)
	iv.meter(fn, d, false)
}

// finished logs (unless NoAccessLog) and meters a successful invocation.
func (iv *Invoker) finished(fn *funcapp.Function, id string, d time.Duration, status int) {
	if !iv.opts.NoAccessLog {
		iv.log.Info("invocation", "function", fn.Name, "trigger", fn.Trigger().Type, "status", status, "duration", d, "invocationId", id)
	}
	iv.meter(fn, d, true)
}

func (iv *Invoker) meter(fn *funcapp.Function, d time.Duration, ok bool) {
	if iv.opts.Meter != nil {
		iv.opts.Meter.Observe(iv.opts.App.Name, fn.Name, d, ok, iv.opts.Pool.MemoryBytes())
	}
}
