package queue

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// The Queue service REST API (the operations the azqueue and
// @azure/storage-queue SDKs call) on the queues the triggers use. Mount
// it at RESTOptions.PathPrefix without stripping the prefix:
//
//	mux.Handle("/queues/", svc.RESTHandler(opts))
//
// An app's queue endpoint is then http://<host>/queues/<app> (the
// QueueEndpoint of its storage connection string); the account is the app.
//
//	GET    /?comp=list[&prefix&marker&maxresults&include=metadata]   list queues
//	PUT    /<queue>                                   create (x-ms-meta-*)
//	DELETE /<queue>                                   delete
//	GET    /<queue>?comp=metadata (or HEAD)           metadata, approximate count
//	PUT    /<queue>?comp=metadata                     set metadata
//	POST   /<queue>/messages[?visibilitytimeout&messagettl]   put
//	GET    /<queue>/messages[?numofmessages&visibilitytimeout] get (dequeue)
//	GET    /<queue>/messages?peekonly=true[&numofmessages]    peek
//	DELETE /<queue>/messages                          clear
//	DELETE /<queue>/messages/<id>?popreceipt=         delete message
//	PUT    /<queue>/messages/<id>?popreceipt=&visibilitytimeout=  update

// APIVersion is the x-ms-version the endpoint answers with.
const APIVersion = "2018-03-28"

// RESTOptions configures the Queue REST endpoint.
type RESTOptions struct {
	// PathPrefix is where the endpoint is mounted ("/queues").
	PathPrefix string
	// Keys returns an account's (an app's) decoded storage key.
	Keys func(ctx context.Context, account string) ([]byte, error)
	// WriteGate, when set, is asked before every write (a secondary
	// refuses or holds it); reads (peek, count, list) are served from the
	// replica.
	WriteGate func(ctx context.Context) error
	// Stored, when set, is called after a message is stored (a put, an
	// update with new text) with its stream sequence, before the answer:
	// in sync mode the region waits there until the secondaries have it,
	// as it does for an output binding's messages.
	Stored func(ctx context.Context, app, queue string, seq uint64) error
	// Properties, when set, keeps each account's Queue service properties
	// (Get/Set Service Properties: stored, not acted on, as for the Table
	// and Blob services); Stats, when set, answers Get Service Stats.
	// Without them those calls answer 501.
	Properties ServiceStore
	Stats      func() storage.ServiceStats
}

// ServiceStore keeps an account's service properties.
type ServiceStore interface {
	ServiceProperties(ctx context.Context, account string) (storage.ServiceProperties, error)
	SetServiceProperties(ctx context.Context, account string, set storage.ServiceProperties) error
}

// restRequest is one parsed call.
type restRequest struct {
	w       http.ResponseWriter
	r       *http.Request
	account string
	queue   string // "" for account-level calls
	res     resKind
	msgID   string
}

type resKind int

const (
	resAccount resKind = iota
	resQueue
	resMessages
	resMessage
)

// RESTHandler serves the Queue service REST API for every app's account.
func (s *Service) RESTHandler(o RESTOptions) http.Handler {
	o.PathPrefix = "/" + strings.Trim(o.PathPrefix, "/")
	return &restHandler{s: s, o: o, auth: &storage.Authenticator{Service: storage.Queue, Keys: o.Keys, Clock: s.opts.Clock}}
}

type restHandler struct {
	s    *Service
	o    RESTOptions
	auth *storage.Authenticator
}

func (h *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.commonHeaders(w, r)
	q, err := h.parse(w, r)
	if err == nil {
		err = h.authorize(q)
	}
	if err == nil && isWrite(q) && h.o.WriteGate != nil {
		err = h.o.WriteGate(r.Context())
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.route(q)
}

func (h *restHandler) now() time.Time { return h.s.opts.Clock.Now() }

func (h *restHandler) commonHeaders(w http.ResponseWriter, r *http.Request) {
	storage.SetCommonHeaders(w, r, APIVersion, h.now())
}

// parse splits /<prefix>/<account>[/<queue>[/messages[/<id>]]].
func (h *restHandler) parse(w http.ResponseWriter, r *http.Request) (*restRequest, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.o.PathPrefix+"/")
	if !ok {
		return nil, badRequest("InvalidUri", "path %q is not under %s/<account>", r.URL.Path, h.o.PathPrefix)
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	q := &restRequest{w: w, r: r, account: parts[0]}
	if q.account == "" {
		return nil, badRequest("InvalidUri", "path %q names no account", r.URL.Path)
	}
	switch {
	case len(parts) == 1:
		q.res = resAccount
	case len(parts) == 2:
		q.res, q.queue = resQueue, parts[1]
	case len(parts) == 3 && parts[2] == "messages":
		q.res, q.queue = resMessages, parts[1]
	case len(parts) == 4 && parts[2] == "messages" && parts[3] != "":
		q.res, q.queue, q.msgID = resMessage, parts[1], parts[3]
	default:
		return nil, badRequest("InvalidUri", "path %q is not <account>[/<queue>[/messages[/<messageid>]]]", r.URL.Path)
	}
	if q.queue != "" {
		if err := ValidQueueName(q.queue); err != nil {
			return nil, badRequest(nameCode(q.queue), "queue name (path): %v", err)
		}
	}
	return q, nil
}

// nameCode is Azure's code for a bad queue name: a length out of range
// or invalid characters.
func nameCode(name string) string {
	if n := len(name); n < 3 || n > 63 {
		return "OutOfRangeInput"
	}
	return "InvalidResourceName"
}

// isWrite: everything but reads (GET/HEAD) and peeks; a Get Messages
// changes visibility, so it is a write.
func isWrite(q *restRequest) bool {
	switch q.r.Method {
	case http.MethodGet, http.MethodHead:
		return q.res == resMessages && !isPeek(q.r)
	}
	return true
}

func isPeek(r *http.Request) bool { return strings.EqualFold(r.URL.Query().Get("peekonly"), "true") }

func (h *restHandler) route(q *restRequest) {
	comp := q.r.URL.Query().Get("comp")
	m := q.r.Method
	switch {
	case q.res == resAccount && m == http.MethodGet && comp == "list":
		h.listQueues(q)
	case q.res == resAccount && comp == "properties" && h.o.Properties != nil && (m == http.MethodGet || m == http.MethodPut):
		h.serviceProperties(q)
	case q.res == resAccount && comp == "stats" && h.o.Stats != nil && m == http.MethodGet:
		storage.WriteXML(q.w, http.StatusOK, h.o.Stats())
	case q.res == resQueue && m == http.MethodPut && comp == "":
		h.createQueue(q)
	case q.res == resQueue && m == http.MethodDelete && comp == "":
		h.deleteQueue(q)
	case q.res == resQueue && (m == http.MethodGet || m == http.MethodHead) && comp == "metadata":
		h.getMetadata(q)
	case q.res == resQueue && m == http.MethodPut && comp == "metadata":
		h.setMetadata(q)
	case q.res == resMessages && m == http.MethodPost:
		h.putMessage(q)
	case q.res == resMessages && m == http.MethodGet && isPeek(q.r):
		h.peekMessages(q)
	case q.res == resMessages && m == http.MethodGet:
		h.getMessages(q)
	case q.res == resMessages && m == http.MethodDelete:
		h.clearMessages(q)
	case q.res == resMessage && m == http.MethodDelete:
		h.deleteMessage(q)
	case q.res == resMessage && m == http.MethodPut:
		h.updateMessage(q)
	case comp != "" && comp != "list" && comp != "metadata":
		h.fail(q.w, q.r, newRESTError(storage.ErrUnsupported, http.StatusNotImplemented, "NotImplemented", "comp=%s (access policies) is not supported", comp))
	default:
		h.fail(q.w, q.r, newRESTError(storage.ErrInvalid, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "%s is not supported on %s", m, q.r.URL.Path))
	}
}

// fail writes err as Azure's XML error and logs server faults.
func (h *restHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asRESTError(err)
	if e.Status >= 500 && e.Status != http.StatusNotImplemented && !errors.Is(e, storage.ErrReadOnly) {
		h.s.opts.Logger.Error("queue REST request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	storage.WriteXMLError(w, r, e, h.now())
}

// writeXML answers status with an XML body.
func (h *restHandler) writeXML(q *restRequest, status int, v any) {
	data, err := marshalXML(v)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.Header().Set("Content-Type", "application/xml")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(data)
}

// errAuthMissing: no Keys function, so no request can be verified.
var errAuthMissing = errors.New("the queue endpoint has no account keys configured")
