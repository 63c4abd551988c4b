package region

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/hostjson"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/timer"
)

// The Azure host's admin API beside the keys API, as the portal's
// Test/Run and Core Tools use it (HostController, FunctionsController):
//
//	GET  /admin/host/status          state, version, errors
//	GET  /admin/functions            every function's metadata
//	GET  /admin/functions/{name}     one function's metadata
//	POST /admin/functions/{name}     {"input": "..."}: run a non-HTTP function now (202)
//
// also under /admin/apps/{app}/...; the app is picked as the keys API does
// (the only app, ?app= or X-Tandem-App). Master key only (requireMaster).
func (r *Region) registerFunctionsAdmin(mux *http.ServeMux) {
	for _, prefix := range []string{"/admin/apps/{app}", "/admin"} {
		mux.HandleFunc("GET "+prefix+"/host/status", r.serveHostStatus)
		mux.HandleFunc("GET "+prefix+"/functions", r.serveFunctions)
		mux.HandleFunc("GET "+prefix+"/functions/{fn}", r.serveFunction)
		mux.HandleFunc("POST "+prefix+"/functions/{fn}", r.runFunction)
	}
}

// HostStatus is GET /admin/host/status.
type HostStatus struct {
	ID            string   `json:"id"`
	State         string   `json:"state"` // "Running", or "Error" when a function is in error
	Version       string   `json:"version"`
	Errors        []string `json:"errors,omitempty"`
	ProcessUptime int64    `json:"processUptime"` // milliseconds
}

// FunctionStatus is one function in GET /admin/functions: the host's
// FunctionMetadataResponse, plus the error of a function that cannot load.
type FunctionStatus struct {
	Name              string          `json:"name"`
	Href              string          `json:"href"`
	ConfigHref        string          `json:"config_href"`
	InvokeURLTemplate string          `json:"invoke_url_template,omitempty"`
	Language          string          `json:"language"`
	Config            json.RawMessage `json:"config"`
	IsDisabled        bool            `json:"isDisabled"`
	IsDirect          bool            `json:"isDirect"`
	IsProxy           bool            `json:"isProxy"`
	Error             string          `json:"error,omitempty"`
}

var processStart = time.Now()

// adminApp is the app an admin request names.
func (r *Region) adminApp(w http.ResponseWriter, req *http.Request) *appRuntime {
	name := firstNonEmpty(req.PathValue("app"), req.URL.Query().Get("app"), req.Header.Get(keys.AppHeader))
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" && len(r.apps) == 1 {
		for n := range r.apps {
			name = n
		}
	}
	if name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("name the app with ?app= or the %s header, or use /admin/apps/{app}/...", keys.AppHeader)})
		return nil
	}
	rt := r.apps[name]
	if rt == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("app %q not found", name)})
	}
	return rt
}

func (r *Region) serveHostStatus(w http.ResponseWriter, req *http.Request) {
	rt := r.adminApp(w, req)
	if rt == nil {
		return
	}
	st := HostStatus{ID: rt.app.Name, State: "Running", Version: invoke.HostVersion, ProcessUptime: time.Since(processStart).Milliseconds()}
	for _, e := range rt.app.Errors {
		st.Errors = append(st.Errors, e.Error())
	}
	if len(st.Errors) > 0 {
		st.State = "Error"
	}
	writeJSON(w, http.StatusOK, st)
}

func (r *Region) serveFunctions(w http.ResponseWriter, req *http.Request) {
	rt := r.adminApp(w, req)
	if rt == nil {
		return
	}
	writeJSON(w, http.StatusOK, r.functionStatuses(req, rt))
}

func (r *Region) serveFunction(w http.ResponseWriter, req *http.Request) {
	rt := r.adminApp(w, req)
	if rt == nil {
		return
	}
	for _, f := range r.functionStatuses(req, rt) {
		if strings.EqualFold(f.Name, req.PathValue("fn")) {
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("function %q not found in app %s", req.PathValue("fn"), rt.app.Name)})
}

// functionStatuses lists the app's functions, those in error included,
// sorted by name.
func (r *Region) functionStatuses(req *http.Request, rt *appRuntime) []FunctionStatus {
	base := "http://" + req.Host
	var out []FunctionStatus
	for _, f := range rt.app.Functions {
		s := r.functionStatus(base, rt.app, f.Name)
		s.IsDisabled = f.Disabled || r.svc.disabled(rt.app.Name, f.Name)
		if t := f.Trigger(); t.Kind() == funcapp.HTTPTrigger {
			s.InvokeURLTemplate = base + "/" + strings.TrimPrefix(rt.app.Host.RoutePrefix+"/"+firstNonEmpty(t.Route, f.Name), "/")
		}
		out = append(out, s)
	}
	for _, e := range rt.app.Errors {
		s := r.functionStatus(base, rt.app, e.Name)
		s.Error = e.Err.Error()
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *Region) functionStatus(base string, app *funcapp.App, name string) FunctionStatus {
	cfg, err := os.ReadFile(filepath.Join(app.Root, name, "function.json"))
	if err != nil || !json.Valid(cfg) {
		cfg = []byte("null")
	}
	href := base + "/admin/functions/" + name
	return FunctionStatus{Name: name, Href: href, ConfigHref: base + "/admin/vfs/site/wwwroot/" + name + "/function.json",
		Language: "custom", Config: cfg}
}

// runFunction runs a non-HTTP function on demand with {"input": "..."}:
// the input is the trigger's value (a queue message's text; ignored for a
// timer, which runs as not past due). 202 once started, as the host does.
func (r *Region) runFunction(w http.ResponseWriter, req *http.Request) {
	rt := r.adminApp(w, req)
	if rt == nil {
		return
	}
	fn := rt.app.Function(req.PathValue("fn"))
	if fn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("function %q not found in app %s", req.PathValue("fn"), rt.app.Name)})
		return
	}
	var body struct {
		Input string `json:"input"`
	}
	raw, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if len(strings.TrimSpace(string(raw))) > 0 && json.Unmarshal(raw, &body) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body: want {"input": "..."}`})
		return
	}
	t, err := adminTrigger(fn, body.Input)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), max(rt.app.Host.FunctionTimeout, time.Minute)+time.Minute)
		defer cancel()
		if _, err := rt.inv.Invoke(ctx, fn, t); err != nil {
			r.log.Error("admin invocation failed", "app", rt.app.Name, "function", fn.Name, "err", err)
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

func adminTrigger(fn *funcapp.Function, input string) (invoke.Trigger, error) {
	md := map[string]any{"sys": hostjson.Sys(fn.Name, time.Now())}
	switch fn.Trigger().Kind() {
	case funcapp.QueueTrigger:
		return invoke.Trigger{Value: hostjson.Text(input), Metadata: md, Expressions: invoke.Expressions{"queueTrigger": input}}, nil
	case funcapp.TimerTrigger:
		v, _ := json.Marshal(timer.Info{Schedule: timer.ScheduleInfo{AdjustForDST: true}})
		return invoke.Trigger{Value: v, Metadata: md}, nil
	default:
		return invoke.Trigger{}, fmt.Errorf("function %s has an %s trigger: call it over HTTP", fn.Name, fn.Trigger().Type)
	}
}

// firstNonEmpty is the first of s that is not empty.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
