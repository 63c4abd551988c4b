package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
)

// Headers of the package endpoints.
const (
	// HeaderVersion declares (PUT) or reports (GET archive) the content
	// version; a PUT whose archive hashes differently is refused.
	HeaderVersion = "X-Tandem-Package-Version"
	// HeaderDeployedAt is the deploy's time (RFC 3339), set by the CLI so
	// every region records the same one.
	HeaderDeployedAt = "X-Tandem-Deployed-At"
)

// DeployResult is the body of a successful PUT.
type DeployResult struct {
	Package
	Unchanged bool `json:"unchanged"`
}

// PackageStatus is the body of GET /admin/apps/{app}/package.
type PackageStatus struct {
	Package
	Active    string `json:"active"`              // version served now
	LoadError string `json:"loadError,omitempty"` // why the current one is not served
}

// RegisterAdmin mounts the package endpoints (behind the region's
// master-key check):
//
//	PUT /admin/apps/{app}/package          tar.gz body -> DeployResult
//	GET /admin/apps/{app}/package          -> PackageStatus
//	GET /admin/apps/{app}/package/archive  -> the current archive
//	GET /admin/packages                    -> []PackageStatus
func (m *Manager) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("PUT /admin/apps/{app}/package", m.servePut)
	mux.HandleFunc("GET /admin/apps/{app}/package", m.serveGet)
	mux.HandleFunc("GET /admin/apps/{app}/package/archive", m.serveArchive)
	mux.HandleFunc("GET /admin/packages", m.serveList)
}

func (m *Manager) servePut(w http.ResponseWriter, r *http.Request) {
	app, ok := validApp(w, r)
	if !ok {
		return
	}
	deployedAt, err := parseDeployedAt(r.Header.Get(HeaderDeployedAt))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, m.opts.MaxSize), m.opts.MaxSize)
	if err != nil {
		code := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, fmt.Errorf("request body: %w", err))
		return
	}
	p, unchanged, err := m.Deploy(r.Context(), app, body, r.Header.Get(HeaderVersion), deployedAt, "deploy")
	if err != nil {
		writeError(w, deployStatus(err), fmt.Errorf("deploy %s: %w", app, err))
		return
	}
	writeJSON(w, http.StatusOK, DeployResult{Package: p, Unchanged: unchanged})
}

func parseDeployedAt(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("header %s: %q is not an RFC 3339 time", HeaderDeployedAt, v)
	}
	return t, nil
}

// deployStatus maps a Deploy error to an HTTP status.
func deployStatus(err error) int {
	switch {
	case errors.Is(err, ErrBadArchive):
		return http.StatusBadRequest
	case errors.Is(err, ErrLoad):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

func (m *Manager) serveGet(w http.ResponseWriter, r *http.Request) {
	app, ok := validApp(w, r)
	if !ok {
		return
	}
	p, err := m.Current(r.Context(), app)
	if err != nil {
		writeError(w, lookupStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, m.status(p))
}

func (m *Manager) status(p Package) PackageStatus {
	return PackageStatus{Package: p, Active: m.Active(p.App), LoadError: m.LoadError(p.App)}
}

func (m *Manager) serveArchive(w http.ResponseWriter, r *http.Request) {
	app, ok := validApp(w, r)
	if !ok {
		return
	}
	p, b, err := m.Archive(r.Context(), app)
	if err != nil {
		writeError(w, lookupStatus(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set(HeaderVersion, p.Version)
	w.Header().Set(HeaderDeployedAt, p.DeployedAt.UTC().Format(time.RFC3339Nano))
	_, _ = w.Write(b)
}

func (m *Manager) serveList(w http.ResponseWriter, r *http.Request) {
	pkgs, err := m.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	out := make([]PackageStatus, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, m.status(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func validApp(w http.ResponseWriter, r *http.Request) (string, bool) {
	app := r.PathValue("app")
	if err := funcapp.ValidAppName(app); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("path segment {app}: %w", err))
		return "", false
	}
	return app, true
}

func lookupStatus(err error) int {
	if errors.Is(err, ErrNotDeployed) {
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
