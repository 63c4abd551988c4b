package traffic

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed ui/index.html ui/login.html
var uiFiles embed.FS

var (
	uiPage  = template.Must(template.ParseFS(uiFiles, "ui/index.html"))
	uiLogin = template.Must(template.ParseFS(uiFiles, "ui/login.html"))
)

// The status page: GET /ui (the page, or a login form), POST /ui/login,
// POST /ui/logout, GET /ui/overview (what the page shows, as JSON). The
// page polls the overview every two seconds; its assets are embedded.
func (m *Manager) registerUI(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui", m.servePage)
	mux.HandleFunc("POST /ui/login", m.serveLogin)
	mux.HandleFunc("POST /ui/logout", m.serveLogout)
	mux.Handle("GET /ui/overview", m.authed(http.HandlerFunc(m.serveOverview)))
	mux.Handle("POST /drills", m.authed(http.HandlerFunc(m.servePutDrill)))
	mux.Handle("GET /drills", m.authed(http.HandlerFunc(m.serveDrills)))
}

func (m *Manager) session(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	return err == nil && m.sessions.valid(c.Value, time.Now())
}

func (m *Manager) servePage(w http.ResponseWriter, r *http.Request) {
	if code := r.URL.Query().Get("code"); code != "" {
		m.login(w, r, code) // ?code= once, as Azure accepts it; the URL loses it at once
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	if !m.session(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = uiLogin.Execute(w, map[string]string{"Manager": m.id})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = uiPage.Execute(w, map[string]string{"Manager": m.id})
}

func (m *Manager) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<12)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "POST /ui/login: bad form", http.StatusBadRequest)
		return
	}
	m.login(w, r, r.PostForm.Get("key"))
}

// login checks key in constant time and, when right, sets the session
// cookie and sends the browser to the page.
func (m *Manager) login(w http.ResponseWriter, r *http.Request, key string) {
	want := m.adminKey.Load()
	if want == nil || *want == "" || subtle.ConstantTimeCompare([]byte(key), []byte(*want)) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = uiLogin.Execute(w, map[string]string{"Manager": m.id, "Error": "That is not the admin key."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: m.sessions.create(time.Now()), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(m.sessions.ttl.Seconds())})
	http.Redirect(w, r, "/ui", http.StatusSeeOther)
}

func (m *Manager) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		m.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui", http.StatusSeeOther)
}

// Overview is what the status page shows: the manager's status with the
// control cluster, each region's apps, package versions and replication
// as the region reports them, and the latest drill reports.
type Overview struct {
	Status  Status            `json:"status"`
	Regions []RegionOverview  `json:"regions"`
	Drills  []json.RawMessage `json:"drills"`
}

// RegionOverview is one region's admin answers, passed through.
type RegionOverview struct {
	Name        string          `json:"name"`
	Apps        json.RawMessage `json:"apps,omitempty"`
	Packages    json.RawMessage `json:"packages,omitempty"`
	Replication json.RawMessage `json:"replication,omitempty"`
	Error       string          `json:"error,omitempty"`
}

func (m *Manager) serveOverview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	o := Overview{Status: m.StatusWithControl(ctx), Regions: m.regionOverviews(ctx), Drills: []json.RawMessage{}}
	if m.ctl != nil {
		if ds, err := m.ctl.Drills(ctx); err == nil {
			for _, d := range ds {
				o.Drills = append(o.Drills, d)
			}
		}
	}
	writeJSON(w, http.StatusOK, o)
}

func (m *Manager) regionOverviews(ctx context.Context) []RegionOverview {
	eps := m.table().eps
	out := make([]RegionOverview, len(eps))
	var wg sync.WaitGroup
	for i, e := range eps {
		out[i].Name = e.name()
		wg.Go(func() {
			var errs []string
			for _, q := range []struct {
				path string
				dst  *json.RawMessage
			}{{"/admin/apps", &out[i].Apps}, {"/admin/packages", &out[i].Packages}, {"/admin/replication", &out[i].Replication}} {
				var err error
				if *q.dst, err = m.regionGet(ctx, e, q.path); err != nil {
					errs = append(errs, err.Error())
				}
			}
			out[i].Error = strings.Join(errs, "; ")
		})
	}
	wg.Wait()
	return out
}

// regionGet reads one admin endpoint of a region (JSON, at most 1 MiB).
func (m *Manager) regionGet(ctx context.Context, e *endpoint, path string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, joinURL(e.cfg.AdminURL, path), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-functions-key", e.adminKey())
	resp, err := m.wit.rc.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK || !json.Valid(b) {
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	return b, nil
}

// servePutDrill keeps a drill report (POST /drills, JSON up to 256 KiB)
// in the control cluster, where every manager's page shows it.
func (m *Manager) servePutDrill(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil || !json.Valid(b) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "POST /drills: body must be a JSON drill report of at most 256 KiB"})
		return
	}
	id := time.Now().UTC().Format("20060102T150405.000000000Z")
	id = strings.ReplaceAll(id, ".", "_")
	if m.ctl == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "POST /drills: no control cluster"})
		return
	}
	if err := m.ctl.PutDrill(r.Context(), id, b); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "POST /drills: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (m *Manager) serveDrills(w http.ResponseWriter, r *http.Request) {
	ds, err := m.ctl.Drills(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "GET /drills: " + err.Error()})
		return
	}
	out := make([]json.RawMessage, len(ds))
	for i, d := range ds {
		out[i] = d
	}
	writeJSON(w, http.StatusOK, out)
}
