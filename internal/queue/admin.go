package queue

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// RegisterAdmin adds the queue admin API to mux. The region serves /admin/
// behind master-key auth, so these handlers do not check keys.
//
//	POST   /admin/apps/{app}/queues/{queue}/messages        body = the message (?raw=true stores it as the text as is)
//	GET    /admin/apps/{app}/queues/{queue}/messages?peek=N peek N (1..32, default 1)
//	DELETE /admin/apps/{app}/queues/{queue}/messages        clear
//	GET    /admin/apps/{app}/queues/{queue}                 length
//	GET    /admin/apps/{app}/queues                         list with lengths
func (s *Service) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/apps/{app}/queues/{queue}/messages", s.adminPut)
	mux.HandleFunc("GET /admin/apps/{app}/queues/{queue}/messages", s.adminPeek)
	mux.HandleFunc("DELETE /admin/apps/{app}/queues/{queue}/messages", s.adminClear)
	mux.HandleFunc("GET /admin/apps/{app}/queues/{queue}", s.adminLen)
	mux.HandleFunc("GET /admin/apps/{app}/queues", s.adminList)
}

// MessageJSON is a message as the admin API shows it.
type MessageJSON struct {
	ID             string    `json:"id"`
	MessageText    string    `json:"messageText"`
	Body           *string   `json:"body,omitempty"`
	BodyBase64     string    `json:"bodyBase64,omitempty"`
	InsertionTime  time.Time `json:"insertionTime"`
	ExpirationTime time.Time `json:"expirationTime"`
	DequeueCount   int64     `json:"dequeueCount"`
	Sequence       uint64    `json:"sequence"`
	Duplicate      bool      `json:"duplicate,omitempty"`
	OriginalID     string    `json:"originalId,omitempty"`
}

func messageJSON(m Message) MessageJSON {
	j := MessageJSON{
		ID: m.ID, MessageText: string(m.Text), InsertionTime: m.InsertionTime,
		ExpirationTime: m.ExpirationTime, DequeueCount: m.DequeueCount,
		Sequence: m.Sequence, Duplicate: m.Duplicate, OriginalID: m.OriginalID,
	}
	switch {
	case m.Body == nil:
	case utf8.Valid(m.Body):
		b := string(m.Body)
		j.Body = &b
	default:
		j.BodyBase64 = base64.StdEncoding.EncodeToString(m.Body)
	}
	return j
}

func (s *Service) adminPut(w http.ResponseWriter, r *http.Request) {
	app, queue, ok := pathNames(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxTextSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body: %w", err))
		return
	}
	var opts []EnqueueOption
	if raw, _ := strconv.ParseBool(r.URL.Query().Get("raw")); raw {
		opts = append(opts, Raw())
	}
	m, err := s.Enqueue(r.Context(), app, queue, body, opts...)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusCreated, messageJSON(m))
}

func (s *Service) adminPeek(w http.ResponseWriter, r *http.Request) {
	app, queue, ok := pathNames(w, r)
	if !ok {
		return
	}
	n := 1
	if v := r.URL.Query().Get("peek"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > MaxPeek {
			writeError(w, http.StatusBadRequest, fmt.Errorf("query peek=%q: want a count 1..%d", v, MaxPeek))
			return
		}
		n = p
	}
	msgs, err := s.Peek(r.Context(), app, queue, n)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	out := make([]MessageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, messageJSON(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": app, "queue": queue, "messages": out})
}

func (s *Service) adminClear(w http.ResponseWriter, r *http.Request) {
	app, queue, ok := pathNames(w, r)
	if !ok {
		return
	}
	if err := s.Clear(r.Context(), app, queue); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) adminLen(w http.ResponseWriter, r *http.Request) {
	app, queue, ok := pathNames(w, r)
	if !ok {
		return
	}
	n, err := s.Len(r.Context(), app, queue)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": app, "queue": queue, "length": n, "poisonQueue": PoisonQueue(queue)})
}

func (s *Service) adminList(w http.ResponseWriter, r *http.Request) {
	app := r.PathValue("app")
	if err := validApp(app); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	qs, err := s.List(r.Context(), app)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if qs == nil {
		qs = []QueueInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": app, "queues": qs})
}

// pathNames validates {app} and {queue}, answering 400 when one is bad.
func pathNames(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	app, queue := r.PathValue("app"), r.PathValue("queue")
	if err := validNames(app, queue); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return "", "", false
	}
	return app, queue, true
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
