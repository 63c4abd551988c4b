package blob

import (
	"net/http"

	"github.com/tandemhq/tandem/internal/storage"
)

// authenticate checks the request's Shared Key (as azblob signs it: every
// canonicalized x-ms- header and the full canonicalized resource) or SAS
// with internal/storage, then that a SAS permits the operation. With no
// Options.AccountKey (unit tests of other packages) every request passes.
func (s *Service) authenticate(r *http.Request, t target) error {
	if s.auth == nil {
		return nil
	}
	grant, err := s.auth.Verify(r.Context(), r, t.account, storage.Target{Name: t.container, Blob: t.blob})
	if err != nil {
		return err
	}
	return grant.Allow(need(r, t))
}

func (s *Service) newAuthenticator() *storage.Authenticator {
	if s.opts.AccountKey == nil {
		return nil
	}
	return &storage.Authenticator{Service: storage.Blob, Keys: s.opts.AccountKey, Clock: s.clock}
}

// need is what a SAS must grant for the request (sp letters: r read,
// a add, c create, w write, d delete, l list).
func need(r *http.Request, t target) storage.Need {
	n := storage.Need{Type: storage.ResourceObject, Name: t.container, Blob: t.blob}
	switch {
	case t.container == "":
		n.Type = storage.ResourceService
	case t.blob == "":
		n.Type = storage.ResourceContainer
	}
	comp := r.URL.Query().Get("comp")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		n.AnyOf = []string{"r"}
		if comp == "list" {
			n.AnyOf = []string{"l"}
		}
	case http.MethodDelete:
		n.AnyOf = []string{"d"}
	default:
		n.AnyOf = []string{"w"}
		if comp == "" {
			n.AnyOf = []string{"c", "w"} // create a container or a new blob
		}
	}
	return n
}
