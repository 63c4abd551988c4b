package queue

import (
	"net/http"

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
	g, err := h.auth.Verify(q.r.Context(), q.r, q.account, storage.Target{Name: q.queue})
	if err != nil {
		return err
	}
	return g.Allow(queueNeed(q))
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
		n.Type, n.AnyOf = storage.ResourceService, []string{"l"}
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
