package region

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tandemhq/tandem/internal/blob"
)

// Blob storage (internal/blob) on /blobs/<app>, with the app's storage
// account key (table.Service.AccountKey), the same write gate as tables, and BlobEndpoint
// in the connection string /admin/apps/{app}/storage returns.

func (r *Region) newBlobs() (*blob.Service, error) {
	b, err := blob.New(blob.Options{Broker: r.broker, Clock: r.opts.Clock, Logger: r.log, PathPrefix: blob.DefaultPathPrefix,
		Replicas: r.broker.Replicas(), AccountKey: r.svc.tables.AccountKey, WriteGate: r.awaitWritable, ReadOnly: r.isSecondary,
		GeoReplication: r.tableGeoReplication})
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	return b, nil
}

// registerTableAdmin mounts the table admin routes, with the storage
// answer extended by the blob endpoint.
func (s *services) registerTableAdmin(mux *http.ServeMux) {
	tm := http.NewServeMux()
	s.tables.RegisterAdmin(tm)
	mux.Handle("GET /admin/apps/{app}/storage", withBlobEndpoint(tm))
	mux.Handle("/admin/apps/{app}/tables", tm)
	mux.Handle("/admin/apps/{app}/tables/", tm)
}

// withBlobEndpoint adds blobEndpoint, and BlobEndpoint in the connection
// string, to the table service's storage answer.
func withBlobEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		var info map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &info) != nil {
			copyResponse(w, rec)
			return
		}
		app := req.PathValue("app")
		tables, _ := info["tableEndpoint"].(string)
		base := strings.TrimSuffix(tables, "/tables/"+app)
		endpoint := base + blob.DefaultPathPrefix + "/" + app
		info["blobEndpoint"] = endpoint
		if cs, ok := info["connectionString"].(string); ok {
			info["connectionString"] = cs + "BlobEndpoint=" + endpoint + ";"
		}
		writeJSON(w, http.StatusOK, info)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = bytes.NewReader(rec.Body.Bytes()).WriteTo(w)
}
