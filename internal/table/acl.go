package table

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/storage"
)

// Table access policies (?comp=acl): up to five stored access policies
// per table, which a table SAS names with si. They are kept in the
// accounts bucket under "acl.<app>.<table lower-cased>", so they are
// replicated with the account and fail over with it. Only the account
// key manages them: a SAS caller is refused, as in Azure.

func aclKey(app, table string) string { return "acl." + app + "." + strings.ToLower(table) }

// AccessPolicies returns a table's stored access policies.
func (s *Service) AccessPolicies(ctx context.Context, app, table string) (storage.SignedIdentifiers, error) {
	ids, err := s.accessPolicies(ctx, app, table)
	if err != nil {
		return ids, fmt.Errorf("access policies of %s/%s: %w", app, table, err)
	}
	return ids, nil
}

func (s *Service) accessPolicies(ctx context.Context, app, table string) (storage.SignedIdentifiers, error) {
	var ids storage.SignedIdentifiers
	if _, err := s.catalogName(ctx, app, table); err != nil {
		return ids, err
	}
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return ids, err
	}
	entry, err := kv.Get(ctx, aclKey(app, table))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ids, nil
	}
	if err != nil {
		return ids, err
	}
	if err := xml.Unmarshal(entry.Value(), &ids); err != nil {
		return ids, fmt.Errorf("stored access policies: %w", err)
	}
	return ids, nil
}

// SetAccessPolicies replaces a table's stored access policies.
func (s *Service) SetAccessPolicies(ctx context.Context, app, table string, ids storage.SignedIdentifiers) error {
	if err := s.setAccessPolicies(ctx, app, table, ids); err != nil {
		return fmt.Errorf("set access policies of %s/%s: %w", app, table, err)
	}
	return nil
}

func (s *Service) setAccessPolicies(ctx context.Context, app, table string, ids storage.SignedIdentifiers) error {
	if _, err := s.catalogName(ctx, app, table); err != nil {
		return err
	}
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return err
	}
	data, err := xml.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, aclKey(app, table), data)
	return err
}

// policy is the storage.PolicyFunc of the Authenticator: a table SAS's
// stored access policy.
func (s *Service) policy(ctx context.Context, app, table, id string) (storage.AccessPolicy, bool, error) {
	ids, err := s.accessPolicies(ctx, app, table)
	if errors.Is(err, ErrNotFound) {
		return storage.AccessPolicy{}, false, nil
	}
	if err != nil {
		return storage.AccessPolicy{}, false, err
	}
	p, found := ids.Find(id)
	return p, found, nil
}

// forgetAccessPolicies drops a deleted table's policies, so a table
// created again under its name does not inherit them.
func (s *Service) forgetAccessPolicies(ctx context.Context, app, table string) error {
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return err
	}
	err = kv.Delete(ctx, aclKey(app, table))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// maxACLBytes bounds a Set Table ACL body.
const maxACLBytes = 64 << 10

func (s *Service) serveACL(q *request) {
	if q.grant.SAS() != nil {
		s.fail(q.w, q.r, storage.Forbidden("AuthorizationFailure", "table access policies are managed with the account key, not a SAS"))
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		ids, err := s.AccessPolicies(q.r.Context(), q.account, q.res.table)
		if err != nil {
			s.fail(q.w, q.r, err)
			return
		}
		storage.WriteXML(q.w, http.StatusOK, ids)
	case http.MethodPut:
		s.setACLREST(q)
	default:
		s.badVerb(q)
	}
}

func (s *Service) setACLREST(q *request) {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxACLBytes))
	if err != nil {
		s.fail(q.w, q.r, invalid("RequestBodyTooLarge", "access policies: %v", err))
		return
	}
	ids, err := storage.ParseSignedIdentifiers(data)
	if err == nil {
		err = s.SetAccessPolicies(q.r.Context(), q.account, q.res.table, ids)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}
