package table

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// RegisterAdmin adds the table admin routes (the region applies master-key
// auth to /admin/):
//
//	GET /admin/apps/{app}/storage                 account name, key, connection string
//	GET /admin/apps/{app}/tables                  table names
//	GET /admin/apps/{app}/tables/{table}/entities ?filter=&top=&select=&nextPartitionKey=&nextRowKey=
//	GET /admin/apps/{app}/tables/{table}/entities/{pk}/{rk}
//
// Entities are returned in Azure's JSON format.
func (s *Service) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/apps/{app}/storage", s.adminStorage)
	mux.HandleFunc("GET /admin/apps/{app}/tables", s.adminTables)
	mux.HandleFunc("GET /admin/apps/{app}/tables/{table}/entities", s.adminQuery)
	mux.HandleFunc("GET /admin/apps/{app}/tables/{table}/entities/{pk}/{rk}", s.adminGet)
}

type storageInfo struct {
	Account          string `json:"account"`
	Key              string `json:"key"`
	TableEndpoint    string `json:"tableEndpoint"`
	ConnectionString string `json:"connectionString"`
}

// adminStorage returns the app's account, creating it on first use.
func (s *Service) adminStorage(w http.ResponseWriter, r *http.Request) {
	a, err := s.EnsureAccount(r.Context(), r.PathValue("app"))
	if err != nil {
		adminError(w, err)
		return
	}
	base := s.opts.BaseURL
	if base == "" {
		base = requestBase(r)
	}
	adminJSON(w, http.StatusOK, storageInfo{
		Account:          a.Name,
		Key:              a.Key,
		TableEndpoint:    a.TableEndpoint(base),
		ConnectionString: a.ConnectionString(base),
	})
}

func (s *Service) adminTables(w http.ResponseWriter, r *http.Request) {
	names, err := s.ListTables(r.Context(), r.PathValue("app"))
	if err != nil {
		adminError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	adminJSON(w, http.StatusOK, map[string]any{"tables": names})
}

func (s *Service) adminQuery(w http.ResponseWriter, r *http.Request) {
	q, err := adminQueryOptions(r)
	if err != nil {
		adminError(w, err)
		return
	}
	page, err := s.QueryPage(r.Context(), r.PathValue("app"), r.PathValue("table"), q)
	if err != nil {
		adminError(w, err)
		return
	}
	sel, _ := newSelection(q.Select) // QueryPage checked it
	entities := make([]json.RawMessage, 0, len(page.Entities))
	for _, e := range page.Entities {
		entities = append(entities, appendEntity(nil, e, encodeOptions{selected: sel}))
	}
	adminJSON(w, http.StatusOK, map[string]any{
		"entities":         entities,
		"nextPartitionKey": page.NextPartitionKey,
		"nextRowKey":       page.NextRowKey,
	})
}

func adminQueryOptions(r *http.Request) (QueryOptions, error) {
	p := r.URL.Query()
	selected, err := selectList(p.Get("select"))
	if err != nil {
		return QueryOptions{}, err
	}
	q := QueryOptions{
		Filter:           p.Get("filter"),
		Select:           selected,
		NextPartitionKey: p.Get("nextPartitionKey"),
		NextRowKey:       p.Get("nextRowKey"),
	}
	if raw := p.Get("top"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			return q, invalid("InvalidInput", "query parameter top must be a positive integer, got %q", raw)
		}
		q.Top = n
	}
	return q, nil
}

func (s *Service) adminGet(w http.ResponseWriter, r *http.Request) {
	e, err := s.Get(r.Context(), r.PathValue("app"), r.PathValue("table"), r.PathValue("pk"), r.PathValue("rk"))
	if err != nil {
		adminError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(appendEntity(nil, e, encodeOptions{}))
}

func adminError(w http.ResponseWriter, err error) {
	adminJSON(w, asError(err).Status, map[string]string{"error": err.Error()})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
