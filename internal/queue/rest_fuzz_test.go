package queue

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseReceipt: any string either parses into a receipt that encodes
// back to itself, or is refused; an accepted ack subject names the
// receipt's sequence.
func FuzzParseReceipt(f *testing.F) {
	f.Add(receipt{seq: 7, gen: 3, count: 2, reply: "$JS.ACK.east_Q_shop_orders.worker.2.7.9.1700000000000000000.0"}.encode())
	f.Add(receipt{seq: 1, gen: 1}.encode())
	f.Add("AgAAAAMAAAAAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReceipt(s)
		if err != nil {
			if !errors.Is(err, errBadReceipt) {
				t.Fatalf("error %v is not errBadReceipt", err)
			}
			return
		}
		if r.seq == 0 || (r.reply != "" && !validAckSubject(r.reply, r.seq)) {
			t.Fatalf("accepted %+v", r)
		}
		again, err := parseReceipt(r.encode())
		if err != nil || again != r {
			t.Fatalf("round trip of %+v: %+v %v", r, again, err)
		}
	})
}

// FuzzParseMessageBody: a body either yields a text of at most 64 KiB
// that a QueueMessage envelope carries back unchanged, or is refused.
func FuzzParseMessageBody(f *testing.F) {
	f.Add([]byte("<QueueMessage><MessageText>aGVsbG8=</MessageText></QueueMessage>"))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>a &amp; b</MessageText></QueueMessage>"))
	f.Add([]byte("<QueueMessage></QueueMessage>"))
	f.Add([]byte("<QueueMessage><MessageText>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		text, err := parseMessageBody(body)
		if err != nil {
			return
		}
		if len(text) > MaxTextSize {
			t.Fatalf("accepted %d bytes", len(text))
		}
		env, err := marshalXML(messageBody{Text: ptr(string(text))})
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseMessageBody(env)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", env, err)
		}
		if !bytes.Equal(back, text) && validXMLText(text) {
			t.Fatalf("round trip %q -> %q", text, back)
		}
	})
}

// validXMLText: every rune is allowed in XML 1.0 (others are replaced
// when encoded).
func validXMLText(b []byte) bool {
	for _, r := range string(b) {
		if r == 0xFFFD || !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

// FuzzParseMetadata: accepted metadata has identifier names and fits 8 KiB.
func FuzzParseMetadata(f *testing.F) {
	f.Add("x-ms-meta-owner", "ann")
	f.Add("x-ms-meta-1bad", "x")
	f.Add("X-Ms-Meta-", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		h := http.Header{}
		h[name] = []string{value}
		meta, err := parseMetadata(h)
		if err != nil {
			return
		}
		size := 0
		for k, v := range meta {
			if !validMetaName(k) {
				t.Fatalf("accepted name %q", k)
			}
			size += len(k) + len(v)
		}
		if size > maxMetadataBytes {
			t.Fatalf("accepted %d bytes", size)
		}
	})
}

// FuzzParsePath: a request path either parses into an account and a
// valid queue name (or none) with a known resource, or is refused.
func FuzzParsePath(f *testing.F) {
	for _, p := range []string{"/queues/shop", "/queues/shop/orders", "/queues/shop/orders/messages",
		"/queues/shop/orders/messages/0f8fad5b-d9cb-469f-a165-70867728950e", "/queues//x", "/tables/shop", "/queues/shop/Bad/messages"} {
		f.Add(p)
	}
	h := &restHandler{o: RESTOptions{PathPrefix: "/queues"}}
	f.Fuzz(func(t *testing.T, path string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}}
		q, err := h.parse(nil, r)
		if err != nil {
			return
		}
		if q.account == "" || strings.Contains(q.account, "/") {
			t.Fatalf("%q: account %q", path, q.account)
		}
		if (q.res == resAccount) != (q.queue == "") || (q.queue != "" && ValidQueueName(q.queue) != nil) {
			t.Fatalf("%q: resource %d queue %q", path, q.res, q.queue)
		}
		if (q.res == resMessage) != (q.msgID != "") {
			t.Fatalf("%q: resource %d message %q", path, q.res, q.msgID)
		}
	})
}
