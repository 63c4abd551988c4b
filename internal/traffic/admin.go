package traffic

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves the traffic manager's own admin API:
//
//	GET  /healthz   readiness, no key
//	GET  /status    endpoints, health, roles, lease, failover history
//	GET  /metrics   Prometheus
//	POST /failover  {"to":"west","planned":true}
//	GET  /ui        the status page (login with the key, or ?code= once)
//	GET  /ui/overview, GET and POST /drills  what the page shows
//
// Everything but /healthz needs the admin key in x-functions-key (or
// Authorization: Bearer), compared in constant time.
func (m *Manager) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.serveHealthz)
	mux.Handle("GET /status", m.authed(http.HandlerFunc(m.serveStatus)))
	mux.Handle("GET /metrics", m.authed(promhttp.HandlerFor(m.metrics.reg, promhttp.HandlerOpts{})))
	mux.Handle("POST /failover", m.authed(http.HandlerFunc(m.serveFailover)))
	m.registerUI(mux)
	return mux
}

// authed lets a request through with the admin key, or with a status
// page session; a change made with a session must also carry the page's
// X-Tandem-UI header, which no other site can make a browser send.
func (m *Manager) authed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case m.keyOK(r):
		case m.session(r) && (r.Method == http.MethodGet || r.Header.Get("X-Tandem-UI") == "1"):
		case m.session(r):
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "a change from the status page needs its X-Tandem-UI header"})
			return
		default:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong admin key (x-functions-key header)"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Manager) keyOK(r *http.Request) bool {
	got := r.Header.Get("x-functions-key")
	if got == "" {
		got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	want := m.adminKey.Load()
	return want != nil && *want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(*want)) == 1
}

func (m *Manager) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	if !m.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func (m *Manager) serveStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, m.StatusWithControl(r.Context()))
}

// FailoverRequest is the body of POST /failover.
type FailoverRequest struct {
	To      string `json:"to"`
	Planned bool   `json:"planned"`
}

// FailoverReply is the answer to POST /failover.
type FailoverReply struct {
	Changed  bool      `json:"changed"`
	Failover *Failover `json:"failover,omitempty"`
	Primary  string    `json:"primary"`
	Epoch    uint64    `json:"epoch"`
}

func (m *Manager) serveFailover(w http.ResponseWriter, r *http.Request) {
	var req FailoverRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "POST /failover: body: " + err.Error()})
		return
	}
	if req.To == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `POST /failover: field "to": required`})
		return
	}
	if !m.Deciding() {
		m.redirectToDecider(w, r)
		return
	}
	reply, err := m.Failover(r.Context(), req.To, req.Planned)
	if err != nil {
		writeJSON(w, failoverStatus(err), map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func failoverStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownRegion):
		return http.StatusNotFound
	case errors.Is(err, ErrNotHealthy), errors.Is(err, ErrNotSteppedDown):
		return http.StatusConflict
	default:
		return http.StatusServiceUnavailable
	}
}

// Failover moves the primary role to the region named to (see witness.failover).
// It gives up when ctx ends or the manager shuts down.
func (m *Manager) Failover(ctx context.Context, to string, planned bool) (FailoverReply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if m.runCtx == nil {
		return FailoverReply{}, errors.New("failover: traffic manager not started")
	}
	defer context.AfterFunc(m.runCtx, cancel)()
	f, err := m.wit.failover(ctx, to, planned)
	if err != nil {
		return FailoverReply{}, err
	}
	st := m.wit.state()
	reply := FailoverReply{Changed: f.To != "", Primary: st.Primary, Epoch: st.Epoch}
	if reply.Changed {
		reply.Failover = &f
	}
	return reply, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// redirectToDecider answers a failover sent to a manager that does not
// decide: 307 to the decider's admin API (clients resend the body), or
// 503 while no decider is known.
func (m *Manager) redirectToDecider(w http.ResponseWriter, r *http.Request) {
	d := m.wit.decider.Load()
	if d != nil && m.ctl != nil {
		mgrs, err := m.ctl.Managers(r.Context())
		for _, mg := range mgrs {
			if err == nil && mg.ID == d.ID && mg.ID != m.id && mg.Admin != "" {
				w.Header().Set("Location", "http://"+mg.Admin+"/failover")
				writeJSON(w, http.StatusTemporaryRedirect, map[string]string{"decider": d.ID, "location": "http://" + mg.Admin + "/failover"})
				return
			}
		}
	}
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "POST /failover: this traffic manager (" + m.id + ") does not decide and no deciding manager is known yet; retry"})
}
