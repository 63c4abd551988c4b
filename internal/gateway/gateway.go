// Package gateway is a region's HTTP front door for function apps: it picks
// the app, matches the route template, checks the method, the function's
// authLevel against the presented key and the disabled flag, then invokes
// the function in forwarding or payload mode and writes its response.
package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/host"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/route"
)

// Authorizer decides whether a request may call a function of the given
// authLevel, and whether it presented the master key (which also opens
// disabled functions).
type Authorizer interface {
	Authorize(app, function, authLevel string, r *http.Request) (allowed, master bool)
}

// DisabledFunc reports whether a function is disabled by an app setting.
type DisabledFunc func(app, function string) bool

// Options configures a Gateway.
type Options struct {
	Auth     Authorizer
	Disabled DisabledFunc
	Logger   *slog.Logger
	MaxBody  int64 // request body limit in payload mode (default 100 MiB)
	CORS     CORSFunc
	// MaxBodyInFlight bounds the body bytes of payload-mode requests
	// being read or invoked at once (default DefaultMaxBodyInFlight); a
	// request past it gets 503. Forwarded bodies stream and do not count.
	MaxBodyInFlight int64
}

// Gateway routes HTTP requests to functions.
type Gateway struct {
	opts Options
	log  *slog.Logger

	inFlight budget // payload-mode body bytes held

	mu    sync.RWMutex
	apps  map[string]*appRoutes
	order []string // first added is the default app
}

type appRoutes struct {
	inv   *invoke.Invoker
	table *route.Table[*funcapp.Function]
}

// New returns a gateway with no apps.
func New(opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 100 << 20
	}
	if opts.Disabled == nil {
		opts.Disabled = func(string, string) bool { return false }
	}
	if opts.MaxBodyInFlight <= 0 {
		opts.MaxBodyInFlight = DefaultMaxBodyInFlight
	}
	g := &Gateway{opts: opts, log: opts.Logger, apps: map[string]*appRoutes{}}
	g.inFlight.limit = opts.MaxBodyInFlight
	return g
}

// Routes is the route table of one app version, built and checked before
// it is installed (a new version is complete before it replaces the old).
type Routes struct {
	app   *funcapp.App
	table *route.Table[*funcapp.Function]
}

// NewRoutes returns an empty route table for app.
func NewRoutes(app *funcapp.App) *Routes {
	return &Routes{app: app, table: &route.Table[*funcapp.Function]{}}
}

// Add parses fn's route template (an HTTP function's; other functions are
// skipped) and adds it; an error names the file and the field.
func (rs *Routes) Add(fn *funcapp.Function) error {
	trig := fn.Trigger()
	if trig.Kind() != funcapp.HTTPTrigger {
		return nil
	}
	text := trig.Route
	if text == "" {
		text = fn.Name
	}
	tpl, err := route.Parse(text)
	if err != nil {
		return fmt.Errorf("%s/function.json: field \"route\": %w", fn.Name, err)
	}
	rs.table.Add(tpl, fn)
	return nil
}

// SetApp adds an app, or replaces it (a new deployment). Every HTTP
// function's route template is checked first; an error names the function.
func (g *Gateway) SetApp(inv *invoke.Invoker) error {
	rs := NewRoutes(inv.App())
	for _, fn := range inv.App().Functions {
		if err := rs.Add(fn); err != nil {
			return fmt.Errorf("app %s: %w", inv.App().Name, err)
		}
	}
	g.Install(inv, rs)
	return nil
}

// Install routes to a new version of an app (inv serves rs's app); it
// replaces the old version at once and cannot fail.
func (g *Gateway) Install(inv *invoke.Invoker, rs *Routes) {
	name := inv.App().Name
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.apps[name]; !ok {
		g.order = append(g.order, name)
	}
	g.apps[name] = &appRoutes{inv: inv, table: rs.table}
}

// RemoveApp stops routing to an app.
func (g *Gateway) RemoveApp(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.apps, name)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == name })
}

// appFor picks the app: the one the Host header's first label names
// ("shop.localhost:7071", matched case-insensitively as DNS names are),
// otherwise the region's default app, the first added (a bare address such
// as 127.0.0.1:7071, the traffic manager's profile name). named reports
// whether the Host named the app; a 404 from the default app says so.
func (g *Gateway) appFor(r *http.Request) (a *appRoutes, named bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if label, _, ok := strings.Cut(r.Host, "."); ok {
		if a, ok := g.apps[label]; ok {
			return a, true
		}
		for name, a := range g.apps {
			if strings.EqualFold(name, label) {
				return a, true
			}
		}
	}
	if len(g.order) == 0 {
		return nil, false
	}
	return g.apps[g.order[0]], false
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, named := g.appFor(r)
	if a == nil {
		writeError(w, http.StatusNotFound, "", "no function app is loaded in this region")
		return
	}
	if g.cors(w, r, a.inv.App().Name) {
		return // a preflight
	}
	fn, params, ok := a.match(r)
	if !ok {
		msg := fmt.Sprintf("no function of app %s matches %s %s", a.inv.App().Name, r.Method, r.URL.Path)
		if !named {
			msg += fmt.Sprintf(" (Host %q names no app of this region, so its default app %s answered; call <app>.<domain> to pick another)", r.Host, a.inv.App().Name)
		}
		writeError(w, http.StatusNotFound, "", msg)
		return
	}
	authLevel := fn.Trigger().AuthLevel
	allowed, master := g.authorize(a, fn, authLevel, r)
	if g.disabled(a, fn) && !master {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("function %s is disabled", fn.Name))
		return
	}
	if !allowed {
		w.Header().Set("WWW-Authenticate", `x-functions-key realm="tandem"`)
		writeError(w, http.StatusUnauthorized, "", fmt.Sprintf("function %s needs a %s key (x-functions-key header or code query parameter)", fn.Name, authLevel))
		return
	}
	g.invoke(w, r, a, fn, params, master)
}

func (g *Gateway) authorize(a *appRoutes, fn *funcapp.Function, authLevel string, r *http.Request) (bool, bool) {
	if g.opts.Auth == nil {
		return authLevel == "anonymous", false
	}
	return g.opts.Auth.Authorize(a.inv.App().Name, fn.Name, authLevel, r)
}

func (g *Gateway) disabled(a *appRoutes, fn *funcapp.Function) bool {
	return fn.Disabled || g.opts.Disabled(a.inv.App().Name, fn.Name)
}

// match strips the route prefix and finds the best route whose methods
// allow the request's method.
func (a *appRoutes) match(r *http.Request) (*funcapp.Function, map[string]string, bool) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if prefix := a.inv.App().Host.RoutePrefix; prefix != "" {
		rest, ok := cutPrefixFold(path, prefix)
		if !ok {
			return nil, nil, false
		}
		path = rest
	}
	for _, m := range a.table.Match(path) {
		methods := m.Value.Trigger().Methods
		if len(methods) == 0 || slices.Contains(methods, r.Method) {
			return m.Value, m.Params, true
		}
	}
	return nil, nil, false
}

func cutPrefixFold(path, prefix string) (string, bool) {
	if len(path) < len(prefix) || !strings.EqualFold(path[:len(prefix)], prefix) {
		return "", false
	}
	rest := path[len(prefix):]
	if rest == "" {
		return "", true
	}
	if rest[0] != '/' {
		return "", false
	}
	return rest[1:], true
}

// invoke runs fn; master says the caller presented the master key (it
// alone is told why an invocation failed).
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, a *appRoutes, fn *funcapp.Function, params map[string]string, master bool) {
	if a.inv.App().Host.Handler.ForwardHTTP && fn.HTTPOnly() {
		id, err := a.inv.Forward(w, r, fn)
		for i := 0; i < maxReroutes && errors.Is(err, host.ErrClosed); i++ {
			// A new version replaced the app while the request was routed:
			// the request never reached a handler, so route it again.
			a2, fn2, _, ok := g.reroute(r)
			if !ok {
				break
			}
			id, err = a2.inv.Forward(w, r, fn2)
		}
		if err != nil {
			g.failed(w, fn, id, err, master)
		}
		return
	}
	g.payload(w, r, a, fn, params, master)
}

// maxReroutes bounds how often a request is routed again because the
// version it was routed to closed before it reached a handler: versions
// swapped back to back can close the one it was rerouted to as well.
const maxReroutes = 3

// reroute matches r again against the current version of its app.
func (g *Gateway) reroute(r *http.Request) (*appRoutes, *funcapp.Function, map[string]string, bool) {
	a, _ := g.appFor(r)
	if a == nil {
		return nil, nil, nil, false
	}
	fn, params, ok := a.match(r)
	return a, fn, params, ok
}

func (g *Gateway) payload(w http.ResponseWriter, r *http.Request, a *appRoutes, fn *funcapp.Function, params map[string]string, master bool) {
	release, err := g.reserveBody(r)
	defer release()
	if err != nil {
		g.busy(w, err)
		return
	}
	trig, err := invoke.NewHTTPTrigger(r, params, g.opts.MaxBody)
	if err != nil {
		g.badBody(w, err)
		return
	}
	value, _ := trig.MarshalJSON() // not json.Marshal: that copies the body again
	t := invoke.Trigger{Value: value, Metadata: invoke.HTTPMetadata(trig, fn.Name, time.Now())}
	res, err := a.inv.Invoke(r.Context(), fn, t)
	for i := 0; i < maxReroutes && errors.Is(err, host.ErrClosed); i++ {
		a2, fn2, _, ok := g.reroute(r)
		if !ok {
			break
		}
		res, err = a2.inv.Invoke(r.Context(), fn2, t) // see invoke: never reached a handler
	}
	if err != nil {
		var ie *invoke.Error
		id := ""
		if errors.As(err, &ie) {
			id = ie.InvocationID
		}
		g.failed(w, fn, id, err, master)
		return
	}
	writeHTTPOutput(w, res)
}

// reserveBody counts r's body against the bytes in flight until release:
// a body of known length at once, one of unknown length as it is read.
func (g *Gateway) reserveBody(r *http.Request) (release func(), err error) {
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
		return func() {}, nil
	case r.ContentLength > 0:
		n := min(r.ContentLength, g.opts.MaxBody+1)
		if err := g.inFlight.take(n); err != nil {
			return func() {}, err
		}
		return func() { g.inFlight.give(n) }, nil
	}
	m := &meteredBody{ReadCloser: r.Body, b: &g.inFlight}
	r.Body = m
	return func() { g.inFlight.give(m.taken) }, nil
}

func (g *Gateway) busy(w http.ResponseWriter, err error) {
	g.log.Warn("request refused: request bodies in flight at the limit", "err", err)
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "", err.Error())
}

func (g *Gateway) badBody(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrBusy):
		g.busy(w, err)
	case errors.Is(err, invoke.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "", err.Error())
	default:
		writeError(w, http.StatusBadRequest, "", err.Error())
	}
}

func writeHTTPOutput(w http.ResponseWriter, res *invoke.Result) {
	out := res.HTTP
	if out == nil {
		out = &invoke.HTTPResponse{StatusCode: http.StatusNoContent, Headers: http.Header{}}
	}
	h := w.Header()
	for k, v := range out.Headers {
		h[k] = v
	}
	h.Set("X-Azure-Functions-InvocationId", res.InvocationID)
	h.Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(out.StatusCode)
	_, _ = w.Write(out.Body)
}

// failed writes a failed invocation's status with its invocation id. Why
// it failed (the handler's reply, instance names, exit statuses, binding
// errors) is logged under the invocation id by the invoker and shown only
// to a caller with the master key; others get the status, a short reason
// and the id to quote.
func (g *Gateway) failed(w http.ResponseWriter, fn *funcapp.Function, id string, err error, master bool) {
	var ie *invoke.Error
	status := http.StatusInternalServerError
	if errors.As(err, &ie) {
		if ie.Status == 0 {
			return // the response had started; the invoker logged the cut
		}
		status = ie.Status
		if ie.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ie.RetryAfter.Round(time.Second)/time.Second))))
		}
		if ie.NotRun && ie.Status == http.StatusServiceUnavailable {
			w.Header().Set(RefusedHeader, "not-run")
			var np primaryNamer
			if errors.As(err, &np) && np.PrimaryRegion() != "" {
				w.Header().Set(PrimaryHeader, np.PrimaryRegion()) // now, not as when the request came
			}
		}
	}
	msg := err.Error()
	if !master && !refusal(ie) {
		msg = publicReason(fn, status, err)
	}
	writeError(w, status, id, msg)
}

// refusal reports a secondary refusing a writer function before it ran:
// its message (which names the primary) is meant for the caller and holds
// nothing of a handler's.
func refusal(ie *invoke.Error) bool {
	return ie != nil && ie.NotRun && ie.Status == http.StatusServiceUnavailable
}

// publicReason says what went wrong without saying why.
func publicReason(fn *funcapp.Function, status int, err error) string {
	const see = " (the region's log has the details under the invocation id)"
	switch {
	case errors.Is(err, invoke.ErrTimeout):
		return "function " + fn.Name + " timed out (functionTimeout)" + see
	case status == http.StatusBadGateway:
		return "function " + fn.Name + ": its handler stopped while answering" + see
	case status == http.StatusServiceUnavailable:
		return "function " + fn.Name + " is not available now; retry later" + see
	}
	return "function " + fn.Name + " failed" + see
}

// PrimaryHeader names, on a refusal, the primary region the refusing
// region follows at the moment it refused, where the traffic manager's
// proxy may send the write next (proxy.PrimaryHeader; on other answers
// of a secondary the region's X-Tandem-Replica-Of, the same header).
const PrimaryHeader = "X-Tandem-Replica-Of"

// primaryNamer is a refusal that knows which region is primary.
type primaryNamer interface{ PrimaryRegion() string }

// RefusedHeader marks a refusal made before anything ran or was written
// (a secondary refusing a writer function): the traffic manager's proxy
// sends such a request to the next region whatever its method
// (proxy.RefusedHeader).
const RefusedHeader = "X-Tandem-Refused"

func writeError(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if id != "" {
		w.Header().Set("X-Azure-Functions-InvocationId", id)
	}
	w.WriteHeader(status)
	body := map[string]string{"error": msg}
	if id != "" {
		body["invocationId"] = id
	}
	_ = json.NewEncoder(w).Encode(body)
}
