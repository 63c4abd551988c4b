package region

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tandemhq/tandem/internal/blob"
)

// Blob storage (internal/blob) on /blobs/<app>, with the app's storage
// account key (table.Service.AccountKey), the same write gate as tables;
// /admin/apps/{app}/storage names it (serveStorage).

func (r *Region) newBlobs() (*blob.Service, error) {
	b, err := blob.New(blob.Options{Broker: r.broker, Clock: r.opts.Clock, Logger: r.log, PathPrefix: blob.DefaultPathPrefix,
		Replicas: r.broker.Replicas(), AccountKey: r.svc.tables.AccountKey, WriteGate: r.awaitWritable, ReadOnly: r.isSecondary,
		GeoReplication: r.tableGeoReplication,
		Stored: func(ctx context.Context, app, stream string, seq uint64) error {
			if r.repl == nil {
				return nil
			}
			return r.repl.waitBlob(ctx, app, stream, seq) // sync mode
		}})
	if err != nil {
		return nil, fmt.Errorf("blobs: %w", err)
	}
	return b, nil
}

// registerTableAdmin mounts the table admin routes (the storage answer,
// with every service's endpoint, is serveStorage's).
func (s *services) registerTableAdmin(mux *http.ServeMux) {
	tm := http.NewServeMux()
	s.tables.RegisterAdmin(tm)
	mux.Handle("/admin/apps/{app}/tables", tm)
	mux.Handle("/admin/apps/{app}/tables/", tm)
}
