package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// RegisterAdmin mounts the settings admin API:
//
//	GET    /admin/apps/{app}/settings                    {"values":{},"connectionStrings":{}}
//	GET    /admin/apps/{app}/settings/{name}             {"name","value"}
//	PUT    /admin/apps/{app}/settings/{name}             body {"value":"..."}: 201 new, 200 replaced
//	DELETE /admin/apps/{app}/settings/{name}             204
//
// and the same under /admin/apps/{app}/connectionstrings/{name}. The region
// applies master-key authentication in front of these handlers.
func (s *Store) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/apps/{app}/settings", s.adminList)
	for path, k := range map[string]Kind{"settings": AppSetting, "connectionstrings": ConnectionString} {
		p := "/admin/apps/{app}/" + path + "/{name}"
		mux.HandleFunc("GET "+p, s.adminGet(k))
		mux.HandleFunc("PUT "+p, s.adminPut(k))
		mux.HandleFunc("DELETE "+p, s.adminDelete(k))
	}
}

type oneSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// app returns the {app} path value, or writes 404 for an app the region
// does not have (when Options.Apps is set).
func (s *Store) app(w http.ResponseWriter, r *http.Request) (string, bool) {
	app := r.PathValue("app")
	if s.opts.Apps != nil {
		if _, ok := s.opts.Apps()[app]; !ok {
			writeError(w, http.StatusNotFound, "app %q not found", app)
			return "", false
		}
	}
	return app, true
}

func (s *Store) adminList(w http.ResponseWriter, r *http.Request) {
	if app, ok := s.app(w, r); ok {
		writeJSON(w, http.StatusOK, s.Get(app))
	}
}

func (s *Store) adminGet(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		app, ok := s.app(w, r)
		if !ok {
			return
		}
		name := r.PathValue("name")
		v, found := s.Value(app, k, name)
		if !found {
			writeError(w, http.StatusNotFound, "%s %q not found in app %s", k, name, app)
			return
		}
		writeJSON(w, http.StatusOK, oneSetting{Name: name, Value: v})
	}
}

func (s *Store) adminPut(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		app, ok := s.app(w, r)
		if !ok {
			return
		}
		value, err := putBody(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		name := r.PathValue("name")
		created, err := s.Put(r.Context(), app, k, name, value)
		switch {
		case errors.Is(err, ErrInvalid):
			writeError(w, http.StatusBadRequest, "%v", err)
		case err != nil:
			writeError(w, http.StatusInternalServerError, "%v", err)
		case created:
			writeJSON(w, http.StatusCreated, oneSetting{Name: name, Value: value})
		default:
			writeJSON(w, http.StatusOK, oneSetting{Name: name, Value: value})
		}
	}
}

// putBody reads {"value": "..."}; the value may be empty but not missing.
func putBody(r *http.Request) (string, error) {
	var body struct {
		Value *string `json:"value"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("request body: %w", err)
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return "", fmt.Errorf("request body: want JSON {\"value\": \"...\"}: %w", err)
	}
	if body.Value == nil {
		return "", errors.New("request body: field \"value\" is required (a string)")
	}
	return *body.Value, nil
}

func (s *Store) adminDelete(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		app, ok := s.app(w, r)
		if !ok {
			return
		}
		name := r.PathValue("name")
		found, err := s.Delete(r.Context(), app, k, name)
		switch {
		case errors.Is(err, ErrInvalid):
			writeError(w, http.StatusBadRequest, "%v", err)
		case err != nil:
			writeError(w, http.StatusInternalServerError, "%v", err)
		case !found:
			writeError(w, http.StatusNotFound, "%s %q not found in app %s", k, name, app)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}
