package region

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handler is the region's HTTP surface on one port: /healthz, /metrics,
// /admin/ (master key), /tables/ (SharedKey) and the function apps.
func (r *Region) handler() http.Handler {
	r.admin = http.NewServeMux()
	r.role.RegisterAdmin(r.admin)
	r.meter.RegisterAdmin(r.admin)
	r.svc.registerAdmin(r.admin)
	r.registerFunctionsAdmin(r.admin)
	r.admin.HandleFunc("GET /admin/apps", r.serveApps)
	r.admin.HandleFunc("GET /admin/replication", func(w http.ResponseWriter, _ *http.Request) {
		if r.repl == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "replication not started"})
			return
		}
		writeJSON(w, http.StatusOK, r.repl.status())
	})
	r.admin.HandleFunc("/admin/", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no admin endpoint " + req.Method + " " + req.URL.Path})
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", r.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	mux.Handle("/admin/", r.requireMaster(r.knownApp(r.gateAdminWrites(r.admin))))
	r.svc.registerPublic(mux)
	mux.Handle("/", r.gateway)
	return r.replicaHeaders(mux)
}

// Health is the body of GET /healthz, which traffic manager probes read.
type Health struct {
	Region string   `json:"region"`
	Ready  bool     `json:"ready"`
	Role   string   `json:"role"`
	Epoch  uint64   `json:"epoch"`
	Active bool     `json:"active"`
	Apps   []string `json:"apps"`
	// Decider is the traffic manager whose role grant the region last
	// accepted, at HeardAt.
	Decider string    `json:"decider,omitempty"`
	HeardAt time.Time `json:"heardAt,omitzero"`
	// Replica is a secondary's staleness (the same as its
	// X-Tandem-Replica-* headers); absent in a primary.
	Replica *ReplicaLag `json:"replica,omitempty"`
}

func (r *Region) serveHealth(w http.ResponseWriter, _ *http.Request) {
	s := r.role.State()
	h := Health{Region: r.opts.Name, Ready: r.Ready(), Role: string(s.Role), Epoch: s.Epoch, Active: r.role.Active(), Apps: r.appNames(),
		Decider: s.Decider, HeardAt: s.UpdatedAt}
	if lag, ok := r.replicaLag(); ok {
		h.Replica = &lag
	}
	code := http.StatusOK
	if !h.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (r *Region) serveApps(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, r.Apps())
}

// requireMaster lets a request through only with the region's master key.
func (r *Region) requireMaster(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.svc.isMaster(req) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin API: the master key is required (x-functions-key header or code query parameter)"})
			return
		}
		next.ServeHTTP(w, req)
	})
}

// knownApp answers 404 to an /admin/apps/{app}/... call for an app this
// region does not serve, before any service sees it (a GET of a ghost
// app's storage used to create its account). Deploying a package is how an
// app comes to exist, so /admin/apps/{app}/package passes.
func (r *Region) knownApp(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, "/admin/apps/")
		app, sub, _ := strings.Cut(rest, "/")
		if !ok || app == "" || sub == "package" || strings.HasPrefix(sub, "package/") || r.serves(app) {
			next.ServeHTTP(w, req)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no app named " + strconv.Quote(app) + " in region " + r.opts.Name + " (GET /admin/apps lists them; deploy a package to create one)"})
	})
}

// serves reports whether app is loaded in this region.
func (r *Region) serves(app string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.apps[app]
	return ok
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
