package table

import (
	"context"
	"net/http"

	"github.com/tandemhq/tandem/internal/storage"
)

// Authentication is internal/storage's: Shared Key and Shared Key Lite as
// the Table service signs them, account SAS and table SAS. A SAS grants
// only what its fields say, so each operation states what it needs
// (tableNeed), and each operation of a batch is checked on its own.

func (s *Service) newAuthenticator() *storage.Authenticator {
	return &storage.Authenticator{
		Service: storage.Table,
		Keys:    s.accountKey,
		Clock:   s.clock,
	}
}

// authenticate verifies the request's signature (header or SAS) and that
// it covers the operation.
func (s *Service) authenticate(ctx context.Context, q *request) error {
	g, err := s.auth.Verify(ctx, q.r, q.account, storage.Target{})
	if err != nil {
		return err
	}
	q.grant = g
	if q.res.kind == resBatch {
		return nil // each operation is checked (allowBatch)
	}
	return g.Allow(tableNeed(method(q.r), q.r.Header.Get("If-Match") != "", q.res))
}

// tableNeed is what a SAS must grant for an operation, following Azure's
// account SAS and table SAS permissions: entities need r, a, u, d on the
// object level (an insert-or-replace both a and u); tables are containers
// (list l, create c or a, delete d); service properties and stats are the
// service level (read r, write w).
func tableNeed(verb string, ifMatch bool, res resource) storage.Need {
	n := storage.Need{Type: storage.ResourceObject, Name: res.table}
	switch res.kind {
	case resService:
		n.Type, n.AnyOf = storage.ResourceService, []string{"r"}
		if verb == http.MethodPut {
			n.AnyOf = []string{"w"}
		}
	case resTables, resTableByName:
		n.Type = storage.ResourceContainer
		n.AnyOf = containerPerms(verb)
	case resTable:
		n.AnyOf = []string{"r"}
		if verb == http.MethodPost {
			n.AnyOf = []string{"a"} // keys checked once the body is read
		}
	case resEntity:
		n.PartitionKey, n.RowKey, n.HasKeys = res.pk, res.rk, true
		n.AnyOf = entityPerms(verb, ifMatch)
	}
	return n
}

func containerPerms(verb string) []string {
	switch verb {
	case http.MethodPost:
		return []string{"c", "a", "w"}
	case http.MethodDelete:
		return []string{"d"}
	}
	return []string{"l", "r"}
}

func entityPerms(verb string, ifMatch bool) []string {
	switch verb {
	case http.MethodGet, http.MethodHead:
		return []string{"r"}
	case http.MethodDelete:
		return []string{"d"}
	case http.MethodPost:
		return []string{"a"}
	}
	if ifMatch {
		return []string{"u"}
	}
	return []string{"au"} // insert or replace/merge
}

// allowInsert checks an insert's keys against a table SAS's key range,
// once the body named them.
func allowInsert(q *request, pk, rk string) error {
	return q.grant.Allow(storage.Need{Type: storage.ResourceObject, Name: q.res.table, AnyOf: []string{"a"},
		PartitionKey: pk, RowKey: rk, HasKeys: true})
}
