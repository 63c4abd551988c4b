package queue

import (
	"net/http"
	"strings"

	"github.com/tandemhq/tandem/internal/storage"
)

// Authentication is internal/storage's: Shared Key and Shared Key Lite
// as the Queue service signs them (the full canonicalized headers and
// resource the azqueue SDK signs), account SAS and queue SAS. A SAS
// grants only what its fields say, so each operation states what it
// needs (queueNeed).

func (h *restHandler) authorize(q *restRequest) error {
	if h.o.Keys == nil {
		return storage.AuthFailed("%v", errAuthMissing)
	}
	need := queueNeed(q)
	g, err := h.auth.Verify(q.r.Context(), q.r, q.account, storage.Target{Name: q.queue})
	if err != nil && q.queue != "" && q.r.Header.Get("Authorization") == "" && storage.HasSAS(q.r.URL.Query()) {
		g, need, err = h.verifyPrefixedSAS(q, need, err)
	}
	if err != nil {
		return err
	}
	return g.Allow(need)
}

// verifyPrefixedSAS accepts a queue SAS whose canonical name the SDKs
// derived from this endpoint's URL form (/queues/<account>/<queue>) by
// their URL parsers: with an IP host they take the first path segment for
// the account and sign "<account>/<queue>" as the queue name; with a host
// name they sign the whole path. Both still name this queue of this
// account alone, signed with its key. first is the error of the
// Azure-form check, returned when neither form matches.
func (h *restHandler) verifyPrefixedSAS(q *restRequest, need storage.Need, first error) (*storage.Grant, storage.Need, error) {
	for _, name := range []string{
		q.account + "/" + q.queue,
		strings.TrimPrefix(h.o.PathPrefix, "/") + "/" + q.account + "/" + q.queue,
	} {
		g, err := h.auth.Verify(q.r.Context(), q.r, q.account, storage.Target{Name: name})
		if err == nil {
			need.Name = name
			return g, need, nil
		}
	}
	return nil, need, first
}

// queueNeed is what a SAS must grant for an operation, as Azure's account
// SAS and queue SAS permissions define them: listing is the service level
// (l); creating (c or w), deleting (d) and metadata (r, w) the queue
// (container) level; messages the object level: put a, get and delete p
// (process), peek r, update u, clear d.
func queueNeed(q *restRequest) storage.Need {
	n := storage.Need{Type: storage.ResourceObject, Name: q.queue}
	comp := q.r.URL.Query().Get("comp")
	switch q.res {
	case resAccount:
		n.Type, n.AnyOf = storage.ResourceService, servicePerms(q.r.Method, comp)
	case resQueue:
		n.Type = storage.ResourceContainer
		n.AnyOf = containerPerms(q.r.Method, comp)
	case resMessages:
		n.AnyOf = messagesPerms(q.r)
	case resMessage:
		n.AnyOf = []string{"p"}
		if q.r.Method == http.MethodPut {
			n.AnyOf = []string{"u"}
		}
	}
	return n
}

func containerPerms(method, comp string) []string {
	switch {
	case method == http.MethodDelete:
		return []string{"d"}
	case method == http.MethodPut && comp == "metadata":
		return []string{"w"}
	case method == http.MethodPut:
		return []string{"c", "w"}
	}
	return []string{"r"}
}

func messagesPerms(r *http.Request) []string {
	switch {
	case r.Method == http.MethodPost:
		return []string{"a"}
	case r.Method == http.MethodDelete:
		return []string{"d"}
	case isPeek(r):
		return []string{"r"}
	}
	return []string{"p"}
}

// servicePerms: listing queues needs l; reading the service's properties
// or stats r, setting them w (account SAS, srt=s).
func servicePerms(method, comp string) []string {
	switch {
	case comp == "list":
		return []string{"l"}
	case method == http.MethodPut:
		return []string{"w"}
	}
	return []string{"r"}
}
