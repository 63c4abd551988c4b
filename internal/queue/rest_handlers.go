package queue

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// The Queue REST operations, one function each.

const (
	maxListResults = 5000
	maxPutTTL      = 1<<31 - 1 // seconds; Azure takes any positive int32
)

func (h *restHandler) listQueues(q *restRequest) {
	v := q.r.URL.Query()
	max, err := intParam(v, "maxresults", maxListResults, 1, maxListResults)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	prefix, marker := v.Get("prefix"), v.Get("marker")
	page, err := h.s.ListQueues(q.r.Context(), q.account, prefix, markerName(marker, q.account), max)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	withMeta := strings.Contains(v.Get("include"), "metadata")
	out := xmlQueueList{ServiceEndpoint: endpoint(q), Queues: []xmlQueue{}}
	if v.Has("maxresults") {
		out.MaxResults = &max
	}
	if v.Has("prefix") {
		out.Prefix = &prefix
	}
	if v.Has("marker") {
		out.Marker = &marker
	}
	for _, lq := range page.Queues {
		x := xmlQueue{Name: lq.Name}
		if withMeta {
			m := xmlMetadata(lq.Metadata)
			x.Metadata = &m
		}
		out.Queues = append(out.Queues, x)
	}
	if page.Next != "" {
		out.NextMarker = "/" + q.account + "/" + page.Next
	}
	h.writeXML(q, http.StatusOK, out)
}

// markerName is the queue name a marker starts at: Azure's markers are
// "/<account>/<queue>"; a bare name is taken as is.
func markerName(marker, account string) string {
	if rest, ok := strings.CutPrefix(marker, "/"+account+"/"); ok {
		return rest
	}
	return marker
}

// endpoint is the account's endpoint URL as the client reached it.
func endpoint(q *restRequest) string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	prefix, _, _ := strings.Cut(q.r.URL.Path, "/"+q.account)
	return scheme + "://" + q.r.Host + prefix + "/" + q.account + "/"
}

func (h *restHandler) createQueue(q *restRequest) {
	meta, err := parseMetadata(q.r.Header)
	if err == nil {
		var created bool
		created, err = h.s.CreateQueue(q.r.Context(), q.account, q.queue, meta)
		if err == nil && created {
			q.w.WriteHeader(http.StatusCreated)
			return
		}
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent) // existed with the same metadata
}

func (h *restHandler) deleteQueue(q *restRequest) {
	if err := h.s.DeleteQueue(q.r.Context(), q.account, q.queue); err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) getMetadata(q *restRequest) {
	p, err := h.s.GetProperties(q.r.Context(), q.account, q.queue)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	for k, v := range p.Metadata {
		q.w.Header()["x-ms-meta-"+k] = []string{v} // not canonicalized: keep the stored name
	}
	q.w.Header().Set("x-ms-approximate-messages-count", strconv.FormatUint(p.Count, 10))
	q.w.WriteHeader(http.StatusOK)
}

func (h *restHandler) setMetadata(q *restRequest) {
	meta, err := parseMetadata(q.r.Header)
	if err == nil {
		err = h.s.SetMetadata(q.r.Context(), q.account, q.queue, meta)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) putMessage(q *restRequest) {
	o, err := putParams(q.r.URL.Query())
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	text, err := readMessageBody(q.w, q.r)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	m, err := h.s.Put(q.r.Context(), q.account, q.queue, text, o)
	if err == nil {
		err = h.stored(q, m.Sequence)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	h.writeXML(q, http.StatusCreated, xmlMessagesList{Messages: []xmlMessage{toXMLMessage(m, putResult)}})
}

// putParams reads visibilitytimeout (0 .. 7 days) and messagettl (-1 or
// at least 1, above visibilitytimeout).
func putParams(v url.Values) (PutOptions, error) {
	vis, err := intParam(v, "visibilitytimeout", 0, 0, int(MaxVisibility/time.Second))
	if err != nil {
		return PutOptions{}, err
	}
	o := PutOptions{Visibility: time.Duration(vis) * time.Second}
	if !v.Has("messagettl") {
		return o, nil
	}
	ttl, err := intParam(v, "messagettl", 0, -1, maxPutTTL)
	if err != nil {
		return PutOptions{}, err
	}
	switch {
	case ttl == 0:
		return PutOptions{}, badRequest("InvalidQueryParameterValue", "query messagettl=0: must be at least 1, or -1 for no expiry")
	case ttl > 0 && ttl <= vis:
		return PutOptions{}, badRequest("InvalidQueryParameterValue", "query visibilitytimeout=%d: must be less than messagettl=%d", vis, ttl)
	}
	o.TTL = time.Duration(ttl) * time.Second
	return o, nil
}

func (h *restHandler) getMessages(q *restRequest) {
	v := q.r.URL.Query()
	n, err := intParam(v, "numofmessages", 1, 1, MaxReceive)
	var vis int
	if err == nil {
		vis, err = intParam(v, "visibilitytimeout", int(DefaultVisibility/time.Second), 1, int(MaxVisibility/time.Second))
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	msgs, err := h.s.Receive(q.r.Context(), q.account, q.queue, n, time.Duration(vis)*time.Second)
	if err != nil && len(msgs) == 0 {
		h.fail(q.w, q.r, err)
		return
	}
	h.writeMessages(q, msgs, dequeued)
}

func (h *restHandler) peekMessages(q *restRequest) {
	n, err := intParam(q.r.URL.Query(), "numofmessages", 1, 1, MaxPeek)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	msgs, err := h.s.Peek(q.r.Context(), q.account, q.queue, n)
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	h.writeMessages(q, msgs, peekedMsg)
}

func (h *restHandler) writeMessages(q *restRequest, msgs []Message, kind messageKind) {
	out := xmlMessagesList{Messages: make([]xmlMessage, 0, len(msgs))}
	for _, m := range msgs {
		out.Messages = append(out.Messages, toXMLMessage(m, kind))
	}
	h.writeXML(q, http.StatusOK, out)
}

func (h *restHandler) clearMessages(q *restRequest) {
	if err := h.s.Clear(q.r.Context(), q.account, q.queue); err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) deleteMessage(q *restRequest) {
	pr, err := popReceiptParam(q.r.URL.Query())
	if err == nil {
		err = h.s.DeleteMessage(q.r.Context(), q.account, q.queue, q.msgID, pr)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (h *restHandler) updateMessage(q *restRequest) {
	v := q.r.URL.Query()
	pr, err := popReceiptParam(v)
	if err == nil && !v.Has("visibilitytimeout") {
		err = badRequest("MissingRequiredQueryParameter", "query visibilitytimeout is required to update a message")
	}
	var vis int
	if err == nil {
		vis, err = intParam(v, "visibilitytimeout", 0, 0, int(MaxVisibility/time.Second))
	}
	var text []byte
	if err == nil && q.r.ContentLength != 0 {
		text, err = readMessageBody(q.w, q.r)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	u, err := h.s.UpdateMessage(q.r.Context(), q.account, q.queue, q.msgID, pr, time.Duration(vis)*time.Second, text)
	if err == nil && u.Sequence != 0 {
		err = h.stored(q, u.Sequence)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.Header().Set("x-ms-popreceipt", u.PopReceipt)
	q.w.Header().Set("x-ms-time-next-visible", rfc1123(u.NextVisibleTime))
	q.w.WriteHeader(http.StatusNoContent)
}

// stored reports a stored message to RESTOptions.Stored.
func (h *restHandler) stored(q *restRequest, seq uint64) error {
	if h.o.Stored == nil {
		return nil
	}
	if err := h.o.Stored(q.r.Context(), q.account, q.queue, seq); err != nil {
		return fmt.Errorf("replicate message %d of %s/%s: %w", seq, q.account, q.queue, err)
	}
	return nil
}

func popReceiptParam(v url.Values) (string, error) {
	pr := v.Get("popreceipt")
	if pr == "" {
		return "", badRequest("MissingRequiredQueryParameter", "query popreceipt is required")
	}
	if _, err := parseReceipt(pr); err != nil {
		return "", badRequest("InvalidQueryParameterValue", "query popreceipt: %v", err)
	}
	return pr, nil
}

// intParam reads an integer query parameter in [lo, hi], def when absent.
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	if !v.Has(name) {
		return def, nil
	}
	raw := v.Get(name)
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, badRequest("InvalidQueryParameterValue", "query %s=%q: not an integer", name, raw)
	}
	if n < lo || n > hi {
		return 0, badRequest("OutOfRangeQueryParameterValue", "query %s=%d: must be %d..%d", name, n, lo, hi)
	}
	return n, nil
}

// maxPropsBytes bounds a Set Service Properties body (as the Table
// service's).
const maxPropsBytes = 64 << 10

// serviceProperties serves Get and Set Queue Service Properties.
func (h *restHandler) serviceProperties(q *restRequest) {
	ctx := q.r.Context()
	if q.r.Method == http.MethodGet {
		p, err := h.o.Properties.ServiceProperties(ctx, q.account)
		if err != nil {
			h.fail(q.w, q.r, err)
			return
		}
		storage.WriteXML(q.w, http.StatusOK, p)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxPropsBytes))
	if err != nil {
		h.fail(q.w, q.r, badRequest("RequestBodyTooLarge", "service properties: %v", err))
		return
	}
	set, err := storage.ParseServiceProperties(data)
	if err == nil {
		err = h.o.Properties.SetServiceProperties(ctx, q.account, set)
	}
	if err != nil {
		h.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusAccepted)
}
