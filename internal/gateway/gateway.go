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
}

// Gateway routes HTTP requests to functions.
type Gateway struct {
	opts Options
	log  *slog.Logger

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
	return &Gateway{opts: opts, log: opts.Logger, apps: map[string]*appRoutes{}}
}

// SetApp adds an app, or replaces it (a new deployment). Every HTTP
// function's route template is checked first; an error names the function.
func (g *Gateway) SetApp(inv *invoke.Invoker) error {
	app := inv.App()
	table := &route.Table[*funcapp.Function]{}
	for _, fn := range app.Functions {
		trig := fn.Trigger()
		if trig.Kind() != funcapp.HTTPTrigger {
			continue
		}
		text := trig.Route
		if text == "" {
			text = fn.Name
		}
		tpl, err := route.Parse(text)
		if err != nil {
			return fmt.Errorf("app %s: %s/function.json: field \"route\": %w", app.Name, fn.Name, err)
		}
		table.Add(tpl, fn)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.apps[app.Name]; !ok {
		g.order = append(g.order, app.Name)
	}
	g.apps[app.Name] = &appRoutes{inv: inv, table: table}
	return nil
}

// RemoveApp stops routing to an app.
func (g *Gateway) RemoveApp(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.apps, name)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == name })
}

// appFor picks the app: the first label of the Host header when it names
// an app ("shop.localhost:7071"), otherwise the first app added.
func (g *Gateway) appFor(r *http.Request) *appRoutes {
	g.mu.RLock()
	defer g.mu.RUnlock()
	label, _, _ := strings.Cut(r.Host, ".")
	if a, ok := g.apps[label]; ok && strings.Contains(r.Host, ".") {
		return a
	}
	if len(g.order) == 0 {
		return nil
	}
	return g.apps[g.order[0]]
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := g.appFor(r)
	if a == nil {
		writeError(w, http.StatusNotFound, "", "no function app is loaded in this region")
		return
	}
	if g.cors(w, r, a.inv.App().Name) {
		return // a preflight
	}
	fn, params, ok := a.match(r)
	if !ok {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("no function of app %s matches %s %s", a.inv.App().Name, r.Method, r.URL.Path))
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
	g.invoke(w, r, a, fn, params)
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

func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, a *appRoutes, fn *funcapp.Function, params map[string]string) {
	if a.inv.App().Host.Handler.ForwardHTTP && fn.HTTPOnly() {
		id, err := a.inv.Forward(w, r, fn)
		if errors.Is(err, host.ErrClosed) {
			// A new version replaced the app while the request was routed:
			// the request never reached a handler, so route it again.
			if a2, fn2, _, ok := g.reroute(r); ok {
				id, err = a2.inv.Forward(w, r, fn2)
			}
		}
		if err != nil {
			g.failed(w, id, err)
		}
		return
	}
	g.payload(w, r, a, fn, params)
}

// reroute matches r again against the current version of its app.
func (g *Gateway) reroute(r *http.Request) (*appRoutes, *funcapp.Function, map[string]string, bool) {
	a := g.appFor(r)
	if a == nil {
		return nil, nil, nil, false
	}
	fn, params, ok := a.match(r)
	return a, fn, params, ok
}

func (g *Gateway) payload(w http.ResponseWriter, r *http.Request, a *appRoutes, fn *funcapp.Function, params map[string]string) {
	trig, err := invoke.NewHTTPTrigger(r, params, g.opts.MaxBody)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, invoke.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, "", err.Error())
		return
	}
	value, _ := json.Marshal(trig)
	t := invoke.Trigger{Value: value, Metadata: invoke.HTTPMetadata(trig, fn.Name, time.Now())}
	res, err := a.inv.Invoke(r.Context(), fn, t)
	if errors.Is(err, host.ErrClosed) {
		if a2, fn2, _, ok := g.reroute(r); ok {
			res, err = a2.inv.Invoke(r.Context(), fn2, t) // see invoke: never reached a handler
		}
	}
	if err != nil {
		var ie *invoke.Error
		id := ""
		if errors.As(err, &ie) {
			id = ie.InvocationID
		}
		g.failed(w, id, err)
		return
	}
	writeHTTPOutput(w, res)
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

// failed writes a failed invocation's status with its invocation id.
func (g *Gateway) failed(w http.ResponseWriter, id string, err error) {
	var ie *invoke.Error
	status := http.StatusInternalServerError
	if errors.As(err, &ie) {
		if ie.Status == 0 {
			return // the response had started; the invoker logged the cut
		}
		status = ie.Status
	}
	writeError(w, status, id, err.Error())
}

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
