package storage_test

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// A Queue REST handler authenticates each request, then checks that the
// caller may do this operation (a Shared Key caller may do anything; a
// SAS only what it grants), and answers errors as the Queue service does.
func ExampleAuthenticator() {
	auth := &storage.Authenticator{
		Service: storage.Queue,
		Keys: func(ctx context.Context, account string) ([]byte, error) {
			return nil, storage.AuthFailed("no storage account %q", account) // e.g. table.Service.AccountKey
		},
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		storage.SetCommonHeaders(w, r, "2018-03-28", time.Now())
		// /<account>/<queue>/messages
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
		account, queue := parts[0], parts[1]
		g, err := auth.Verify(r.Context(), r, account, storage.Target{Name: queue})
		if err == nil {
			err = g.Allow(storage.Need{Type: storage.ResourceObject, Name: queue, AnyOf: []string{"a"}})
		}
		if err != nil {
			storage.WriteXMLError(w, r, storage.AsError(err), time.Now())
			return
		}
		w.WriteHeader(http.StatusCreated)
	}
	_ = handler
	// Output:
}
