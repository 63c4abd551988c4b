package role

import (
	"encoding/json"
	"errors"
	"net/http"
)

// RegisterAdmin serves GET and POST /admin/role. The region applies
// master-key auth to everything under /admin/.
func (m *Manager) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/role", m.serveGet)
	mux.HandleFunc("POST /admin/role", m.servePost)
}

func (m *Manager) serveGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, m.State())
}

func (m *Manager) servePost(w http.ResponseWriter, r *http.Request) {
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "POST /admin/role: body: " + err.Error()})
		return
	}
	if err := req.Validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "POST /admin/role: " + err.Error()})
		return
	}
	s, err := m.Apply(r.Context(), req)
	switch {
	case errors.Is(err, ErrStaleEpoch):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "current": s})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, s)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
