package table

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tandemhq/tandem/internal/storage"
)

// The REST endpoint: the subset of the Azure Table service protocol the
// official SDKs use (tables: create, delete, query; entities: insert,
// update/merge with If-Match, insert-or-replace/merge, get, query with
// $filter/$select/$top and continuation, delete), JSON only.
//
// Mount it at PathPrefix without stripping the prefix, for example
//
//	mux.Handle("/tables/", svc.Handler())
//
// An app's table endpoint is then http://<host>/tables/<app>, the
// TableEndpoint of the connection string Account.ConnectionString returns.

const (
	apiVersion   = "2019-02-02"
	maxBodyBytes = 4 << 20
)

// Handler serves the Table service REST API for every app's account.
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// request is one parsed REST call.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	account string
	res     resource
	grant   *storage.Grant
	base    string // scheme://host/<prefix>/<account>, for odata.metadata
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.setCommonHeaders(w, r)
	account, rest, ok := s.splitPath(r.URL.Path)
	if !ok {
		writeError(w, invalid("InvalidUri", "path %q is not %s/<account>/<resource>", r.URL.Path, s.prefix))
		return
	}
	q := &request{w: w, r: r, account: account, base: requestBase(r) + s.accountPath(account)}
	res, perr := parseRequestResource(r, rest)
	q.res = res
	// Authenticate first: a caller without the key learns nothing, not
	// even whether its resource path parses.
	if err := s.authenticate(r.Context(), q); err != nil {
		s.fail(w, r, err)
		return
	}
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	if err := s.gateWrite(r); err != nil {
		s.fail(w, r, err)
		return
	}
	s.route(q)
}

// gateWrite asks Options.WriteGate whether a write may run here (reads
// always may).
func (s *Service) gateWrite(r *http.Request) error {
	if s.opts.WriteGate == nil {
		return nil
	}
	switch method(r) {
	case http.MethodGet, http.MethodHead:
		return nil
	}
	return s.opts.WriteGate(r.Context())
}

// splitPath strips the prefix and splits "/<account>/<resource>".
func (s *Service) splitPath(path string) (account, rest string, ok bool) {
	if s.prefix != "/" {
		path, ok = strings.CutPrefix(path, s.prefix)
		if !ok {
			return "", "", false
		}
	}
	account, rest, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return account, rest, account != ""
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Service) route(q *request) {
	switch q.res.kind {
	case resTables:
		s.routeTables(q)
	case resTableByName:
		s.routeTableByName(q)
	case resTable:
		s.routeTable(q)
	case resEntity:
		s.routeEntity(q)
	case resService:
		s.serveService(q)
	case resBatch:
		s.serveBatch(q)
	default:
		s.fail(q.w, q.r, invalid("InvalidUri", "no resource named"))
	}
}

func (s *Service) routeTables(q *request) {
	switch q.r.Method {
	case http.MethodGet:
		s.listTables(q)
	case http.MethodPost:
		s.createTableREST(q)
	default:
		s.badVerb(q)
	}
}

func (s *Service) routeTableByName(q *request) {
	switch q.r.Method {
	case http.MethodDelete:
		s.deleteTableREST(q)
	case http.MethodGet:
		s.getTable(q)
	default:
		s.badVerb(q)
	}
}

func (s *Service) routeTable(q *request) {
	switch {
	case q.r.URL.Query().Has("comp"):
		s.fail(q.w, q.r, newError(ErrUnsupported, http.StatusNotImplemented, "NotImplemented",
			"table access policies (comp=%s) are not supported", q.r.URL.Query().Get("comp")))
	case q.r.Method == http.MethodGet:
		s.queryEntities(q)
	case q.r.Method == http.MethodPost:
		s.insertEntity(q)
	default:
		s.badVerb(q)
	}
}

func (s *Service) routeEntity(q *request) {
	switch method(q.r) {
	case http.MethodGet:
		s.getEntity(q)
	case http.MethodPut:
		s.updateEntity(q, Replace)
	case http.MethodPatch, "MERGE":
		s.updateEntity(q, Merge)
	case http.MethodDelete:
		s.deleteEntity(q)
	default:
		s.badVerb(q)
	}
}

// method honours X-HTTP-Method tunnelling (POST with X-HTTP-Method: MERGE).
func method(r *http.Request) string {
	if m := r.Header.Get("X-HTTP-Method"); m != "" && r.Method == http.MethodPost {
		return strings.ToUpper(m)
	}
	return r.Method
}

func (s *Service) badVerb(q *request) {
	s.fail(q.w, q.r, newError(ErrInvalid, http.StatusMethodNotAllowed, "UnsupportedHttpVerb",
		"%s is not supported on %s", q.r.Method, q.r.URL.Path))
}

func (s *Service) setCommonHeaders(w http.ResponseWriter, r *http.Request) {
	storage.SetCommonHeaders(w, r, apiVersion, s.clock.Now())
	w.Header().Set("DataServiceVersion", "3.0;")
}

// fail writes err as an Azure error response and logs server faults.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 && e.Status != http.StatusNotImplemented && !errors.Is(e, ErrReadOnly) {
		s.log.Error("table request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *Error) { storage.WriteJSONError(w, e) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	writeRaw(w, status, bytes.TrimSpace(buf.Bytes()), "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
}

func writeRaw(w http.ResponseWriter, status int, data []byte, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// readBody reads a JSON request body of at most maxBodyBytes.
func readBody(q *request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxBodyBytes))
	if err != nil {
		return nil, invalid("RequestBodyTooLarge", "request body: %v", err)
	}
	return data, nil
}

// noMetadata reports whether the client asked for odata=nometadata.
func noMetadata(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "odata=nometadata") ||
		strings.Contains(r.URL.Query().Get("$format"), "odata=nometadata")
}

func contentType(r *http.Request) string {
	if noMetadata(r) {
		return "application/json;odata=nometadata;streaming=true;charset=utf-8"
	}
	return "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
}

// preferNoContent applies the Prefer header of insert requests; Azure's
// default for inserts is return-content.
func preferNoContent(q *request) bool {
	switch q.r.Header.Get("Prefer") {
	case "return-no-content":
		q.w.Header().Set("Preference-Applied", "return-no-content")
		return true
	case "return-content":
		q.w.Header().Set("Preference-Applied", "return-content")
	}
	return false
}
