package region

import (
	"context"
	"net/http"
	"strings"

	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/storage"
)

// The Queue service REST API of every app's storage account, at
// /queues/<app> (queue.RESTHandler), and the storage connection string
// that names it.

// QueuePathPrefix is where the Queue REST endpoint is mounted.
const QueuePathPrefix = "/queues"

// registerQueueREST mounts the Queue REST endpoint and the app storage
// admin call that names it.
func (r *Region) registerQueueREST(mux *http.ServeMux) {
	mux.Handle(QueuePathPrefix+"/", r.svc.queues.RESTHandler(queue.RESTOptions{
		PathPrefix: QueuePathPrefix,
		Keys:       r.storageKey,
		WriteGate:  r.awaitWritable,
		Stored: func(ctx context.Context, app, queue string, seq uint64) error {
			if r.repl == nil {
				return nil
			}
			return r.repl.waitQueue(ctx, app, queue, seq) // sync mode
		},
		Properties: r.svc.tables.QueueProperties(), // kept with the account, replicated
		Stats:      r.svc.tables.Stats,
	}))
	mux.Handle("GET /admin/apps/{app}/storage", r.requireMaster(r.knownApp(http.HandlerFunc(r.serveStorage))))
}

// storageKey is the decoded key of a served app's storage account: the
// table service's (table.AccountKey, cached; in a secondary whose replica
// lacks the account yet, 503 ServerBusy).
func (r *Region) storageKey(ctx context.Context, account string) ([]byte, error) {
	if !r.serves(account) {
		return nil, storage.AuthFailed("no storage account %q in region %s", account, r.opts.Name)
	}
	return r.svc.tables.AccountKey(ctx, account)
}

func requestBase(req *http.Request) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + strings.TrimSuffix(req.Host, "/")
}
