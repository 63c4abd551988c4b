package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// AppHeader names the app on the Azure-compatible admin paths when the
// region has several apps (the app query parameter does the same).
const AppHeader = "X-Tandem-App"

// RegisterAdmin mounts the keys admin API, the Azure host's KeysController:
//
//	/admin/apps/{app}/host/{keys|functionkeys|systemkeys}[/{name}]
//	/admin/apps/{app}/functions/{fn}/keys[/{name}]
//
// and the exact Azure paths /admin/host/... and /admin/functions/..., which
// pick the app as the region's only app, or by ?app= or X-Tandem-App.
// GET lists or reads, POST generates (201 new, 200 replaced), PUT sets
// from {"name","value"}, DELETE answers 204. The region applies master-key
// authentication in front of these handlers.
func (s *Store) RegisterAdmin(mux *http.ServeMux) {
	for _, prefix := range []string{"/admin/apps/{app}", "/admin"} {
		mux.HandleFunc("GET "+prefix+"/host/{scope}", s.hostList)
		mux.HandleFunc("GET "+prefix+"/host/{scope}/{name}", s.hostGet)
		mux.HandleFunc("POST "+prefix+"/host/{scope}/{name}", s.hostSet)
		mux.HandleFunc("PUT "+prefix+"/host/{scope}/{name}", s.hostSet)
		mux.HandleFunc("DELETE "+prefix+"/host/{scope}/{name}", s.hostDelete)
		mux.HandleFunc("GET "+prefix+"/functions/{fn}/keys", s.fnList)
		mux.HandleFunc("GET "+prefix+"/functions/{fn}/keys/{name}", s.fnGet)
		mux.HandleFunc("POST "+prefix+"/functions/{fn}/keys/{name}", s.fnSet)
		mux.HandleFunc("PUT "+prefix+"/functions/{fn}/keys/{name}", s.fnSet)
		mux.HandleFunc("DELETE "+prefix+"/functions/{fn}/keys/{name}", s.fnDelete)
	}
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type keyList struct {
	Keys  []Key  `json:"keys"`
	Links []link `json:"links"`
}

type keyOne struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Links []link `json:"links"`
}

// httpError is an admin API failure: a status and a message.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeJSON(w, he.status, map[string]string{"error": he.msg})
		return
	}
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
}

// selfURL is the request URL without its query, as the Azure host's links.
func selfURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// target is what an admin request addresses.
type target struct {
	app   string
	scope Scope
	name  string
}

// resolveApp finds the app: the {app} path value on canonical paths,
// otherwise ?app=, X-Tandem-App, or the region's only app.
func (s *Store) resolveApp(r *http.Request) (string, []string, error) {
	apps := s.opts.Apps()
	app := r.PathValue("app")
	if app == "" {
		app = r.URL.Query().Get("app")
	}
	if app == "" {
		app = r.Header.Get(AppHeader)
	}
	if app == "" {
		names := make([]string, 0, len(apps))
		for n := range apps {
			names = append(names, n)
		}
		sort.Strings(names)
		switch len(names) {
		case 0:
			return "", nil, fail(http.StatusNotFound, "no function app is loaded in this region")
		case 1:
			app = names[0]
		default:
			return "", nil, fail(http.StatusBadRequest, "this region has several apps (%s): name one with ?app= or the %s header, or use /admin/apps/{app}/...", strings.Join(names, ", "), AppHeader)
		}
	}
	fns, ok := apps[app]
	if !ok {
		return "", nil, fail(http.StatusNotFound, "app %q not found", app)
	}
	return app, fns, nil
}

func (s *Store) hostTarget(r *http.Request) (target, error) {
	app, _, err := s.resolveApp(r)
	if err != nil {
		return target{}, err
	}
	var sc Scope
	switch strings.ToLower(r.PathValue("scope")) {
	case "keys", "functionkeys":
		sc = HostScope()
	case "systemkeys":
		sc = SystemScope()
	default:
		return target{}, fail(http.StatusNotFound, "unknown host key scope %q: use keys, functionkeys or systemkeys", r.PathValue("scope"))
	}
	return target{app: app, scope: sc, name: r.PathValue("name")}, nil
}

func (s *Store) fnTarget(r *http.Request) (target, error) {
	app, fns, err := s.resolveApp(r)
	if err != nil {
		return target{}, err
	}
	fn := r.PathValue("fn")
	if !slices.Contains(fns, fn) {
		return target{}, fail(http.StatusNotFound, "function %q not found in app %s", fn, app)
	}
	return target{app: app, scope: FunctionScope(fn), name: r.PathValue("name")}, nil
}

func (s *Store) hostList(w http.ResponseWriter, r *http.Request) { s.list(w, r, s.hostTarget) }
func (s *Store) fnList(w http.ResponseWriter, r *http.Request)   { s.list(w, r, s.fnTarget) }
func (s *Store) hostGet(w http.ResponseWriter, r *http.Request)  { s.get(w, r, s.hostTarget) }
func (s *Store) fnGet(w http.ResponseWriter, r *http.Request)    { s.get(w, r, s.fnTarget) }
func (s *Store) hostSet(w http.ResponseWriter, r *http.Request)  { s.set(w, r, s.hostTarget) }
func (s *Store) fnSet(w http.ResponseWriter, r *http.Request)    { s.set(w, r, s.fnTarget) }
func (s *Store) hostDelete(w http.ResponseWriter, r *http.Request) {
	s.delete(w, r, s.hostTarget)
}
func (s *Store) fnDelete(w http.ResponseWriter, r *http.Request) { s.delete(w, r, s.fnTarget) }

type resolver func(*http.Request) (target, error)

func (s *Store) list(w http.ResponseWriter, r *http.Request, resolve resolver) {
	t, err := resolve(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, keyList{Keys: s.List(t.app, t.scope), Links: []link{{"self", selfURL(r)}}})
}

func (s *Store) get(w http.ResponseWriter, r *http.Request, resolve resolver) {
	t, err := resolve(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	v, ok := s.Get(t.app, t.scope, t.name)
	if t.scope.Kind == HostSystemKeys && t.name == MasterName {
		v, ok = s.Master(), true
	}
	if !ok {
		writeErr(w, fail(http.StatusNotFound, "key %q not found in the %s of app %s", t.name, t.scope, t.app))
		return
	}
	writeJSON(w, http.StatusOK, keyOne{Name: t.name, Value: v, Links: []link{{"self", selfURL(r)}}})
}

// set serves POST (generate) and PUT (value from the body).
func (s *Store) set(w http.ResponseWriter, r *http.Request, resolve resolver) {
	t, err := resolve(r)
	var value string
	if err == nil && r.Method == http.MethodPut {
		value, err = putValue(r)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	created, value, err := s.store(r, t, value)
	if err != nil {
		writeErr(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", selfURL(r))
	}
	writeJSON(w, status, keyOne{Name: t.name, Value: value, Links: []link{{"self", selfURL(r)}}})
}

func (s *Store) store(r *http.Request, t target, value string) (bool, string, error) {
	if t.scope.Kind != FunctionKeys && strings.EqualFold(t.name, MasterName) {
		v, err := s.SetMaster(value)
		if errors.Is(err, ErrMasterFixed) {
			return false, "", fail(http.StatusForbidden, "%s", ErrMasterFixed.Error())
		}
		return false, v, err
	}
	v, created, err := s.Set(r.Context(), t.app, t.scope, t.name, value)
	if errors.Is(err, ErrInvalid) {
		return false, "", fail(http.StatusBadRequest, "%s", err.Error())
	}
	return created, v, err
}

// putValue reads a PUT body: {"name": "...", "value": "..."}.
func putValue(r *http.Request) (string, error) {
	var body struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return "", fail(http.StatusBadRequest, "request body: %v", err)
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return "", fail(http.StatusBadRequest, "request body: want JSON {\"name\": ..., \"value\": ...}: %v", err)
	}
	if body.Value == nil || *body.Value == "" {
		return "", fail(http.StatusBadRequest, "Invalid key value: field \"value\" is required")
	}
	if err := CheckUserValue(*body.Value); err != nil {
		return "", fail(http.StatusBadRequest, "Invalid key value: field \"value\": %v", err)
	}
	return *body.Value, nil
}

func (s *Store) delete(w http.ResponseWriter, r *http.Request, resolve resolver) {
	t, err := resolve(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	if strings.HasPrefix(t.name, "_") {
		writeErr(w, fail(http.StatusBadRequest, "Invalid key name %q: keys whose names start with '_' (such as %s) cannot be deleted", t.name, MasterName))
		return
	}
	found, err := s.Delete(r.Context(), t.app, t.scope, t.name)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !found {
		writeErr(w, fail(http.StatusNotFound, "key %q not found in the %s of app %s", t.name, t.scope, t.app))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
