package configsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

// Request is the body of POST /admin/sync/plan and /admin/sync/apply: the
// primary's configuration (from its GET /admin/sync/snapshot), the
// exclusion patterns (null: the ones stored in this region; apply stores
// non-null ones) and optionally one app to sync.
type Request struct {
	Source  *Snapshot `json:"source"`
	Exclude []string  `json:"exclude"`
	App     string    `json:"app,omitempty"`
}

// Result is the answer of plan and apply: the plan, and for apply the
// failures joined ("" when every change was applied).
type Result struct {
	Plan
	Error string `json:"error,omitempty"`
}

// maxRequest bounds a plan or apply body.
const maxRequest = 32 << 20

// RegisterAdmin mounts the sync admin API (the region applies master-key
// authentication in front):
//
//	GET  /admin/sync/snapshot[?app=]   this region's settings and keys (values included)
//	POST /admin/sync/plan              Request -> Result (nothing written)
//	POST /admin/sync/apply             Request -> Result (500 when a change failed)
//	GET  /admin/sync/audit[?app=&since=RFC3339&limit=N]   {"entries":[...]}
//	GET  /admin/sync/status            continuous mode and exclusion patterns
func (s *Syncer) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/sync/snapshot", s.serveSnapshot)
	mux.HandleFunc("POST /admin/sync/plan", s.servePlan(false))
	mux.HandleFunc("POST /admin/sync/apply", s.servePlan(true))
	mux.HandleFunc("GET /admin/sync/audit", s.serveAudit)
	mux.HandleFunc("GET /admin/sync/status", s.serveStatus)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (s *Syncer) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	app := r.URL.Query().Get("app")
	if app != "" && !appName.MatchString(app) {
		writeError(w, http.StatusBadRequest, "query parameter app: %q is not an app name (letters, digits and '-')", app)
		return
	}
	snap, err := s.Snapshot(r.Context(), app)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}

func (s *Syncer) servePlan(apply bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
		if err == nil && len(body) > maxRequest {
			err = fmt.Errorf("request body: larger than %d bytes", maxRequest)
		}
		var req *Request
		if err == nil {
			req, err = ParseRequest(body)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		src := req.Source.Only(req.App)
		if apply {
			p, err := s.Apply(r.Context(), src, req.Exclude)
			s.answerApply(w, p, err)
			return
		}
		p, err := s.Plan(r.Context(), src, req.Exclude)
		if err != nil {
			writeError(w, statusOf(err), "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, Result{Plan: *p})
	}
}

func (s *Syncer) answerApply(w http.ResponseWriter, p *Plan, err error) {
	switch {
	case p == nil:
		writeError(w, statusOf(err), "%v", err)
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, Result{Plan: *p, Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, Result{Plan: *p})
	}
}

func statusOf(err error) int {
	if errors.Is(err, ErrSameRegion) {
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// ParseRequest decodes and checks a plan or apply body; errors name the field.
func ParseRequest(body []byte) (*Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("request body: want JSON {\"source\": snapshot, \"exclude\": [...], \"app\": \"...\"}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("request body: trailing data after the JSON object")
	}
	if err := req.check(); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return &req, nil
}

func (req *Request) check() error {
	if req.Source == nil {
		return errors.New(`field "source" is required (the primary's GET /admin/sync/snapshot)`)
	}
	if err := broker.ValidRegion(req.Source.Region); err != nil {
		return fmt.Errorf(`field "source.region": %w`, err)
	}
	for app, cfg := range req.Source.Apps {
		if !appName.MatchString(app) {
			return fmt.Errorf(`field "source.apps": %q is not an app name (letters, digits and '-')`, app)
		}
		if cfg == nil {
			return fmt.Errorf(`field "source.apps.%s": null`, app)
		}
	}
	if req.App != "" && !appName.MatchString(req.App) {
		return fmt.Errorf(`field "app": %q is not an app name`, req.App)
	}
	if req.Exclude != nil {
		if _, err := NewExclude(req.Exclude); err != nil {
			return fmt.Errorf(`field "exclude": %w`, err)
		}
	}
	return nil
}

func (s *Syncer) serveAudit(w http.ResponseWriter, r *http.Request) {
	q, err := parseAuditQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	entries, err := s.Audit(r.Context(), q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

func parseAuditQuery(r *http.Request) (AuditQuery, error) {
	v := r.URL.Query()
	q := AuditQuery{App: v.Get("app")}
	if q.App != "" && !appName.MatchString(q.App) {
		return q, fmt.Errorf("query parameter app: %q is not an app name", q.App)
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, fmt.Errorf("query parameter since: %q is not an RFC 3339 time", s)
		}
		q.Since = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10_000 {
			return q, fmt.Errorf("query parameter limit: %q is not a number from 1 to 10000", s)
		}
		q.Limit = n
	}
	return q, nil
}

// StatusReport is GET /admin/sync/status.
type StatusReport struct {
	Status
	Exclude []string `json:"exclude"`
}

func (s *Syncer) serveStatus(w http.ResponseWriter, r *http.Request) {
	ex, err := s.Exclude(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, StatusReport{Status: s.Status(), Exclude: ex})
}

// withTimeout bounds an admin call made by a client.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, 30*time.Second)
}
