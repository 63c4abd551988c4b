package queue

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tandemhq/tandem/internal/hostjson"
)

// Message is one queue message as a function sees it.
type Message struct {
	// ID is the message id, a lowercase GUID; it is also the Nats-Msg-Id,
	// so publishing the same id again within the dedupe window stores nothing.
	ID string
	// Body is the message content, decoded per messageEncoding. Nil when
	// Text does not decode (only possible for Peek results).
	Body []byte
	// Text is the stored message text: Body encoded per messageEncoding.
	Text []byte
	// DequeueCount is how many times the message has been delivered,
	// this delivery included (0 in Enqueue and Peek results).
	DequeueCount int64
	// InsertionTime, ExpirationTime and NextVisibleTime are UTC.
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	// PopReceipt names this delivery (opaque, unique per delivery).
	PopReceipt string
	// Sequence is the JetStream stream sequence: what a standby region
	// records as acknowledged (ack floor plus out-of-order acks).
	Sequence uint64
	// Duplicate is set by Enqueue when the id was already stored within
	// the dedupe window, so nothing new was stored.
	Duplicate bool
	// OriginalID is set on poison-queue copies: the failed message's id.
	OriginalID string
}

// Header names Tandem stores on queue messages beside Nats-Msg-Id.
const (
	hdrInserted      = "Tandem-Queue-Inserted"
	hdrOriginalID    = "Tandem-Queue-Original-Id"
	hdrOriginalQueue = "Tandem-Queue-Original-Queue"
	hdrDequeueCount  = "Tandem-Queue-Dequeue-Count"
	hdrPoisonReason  = "Tandem-Queue-Poison-Reason"
)

// newID returns a random (version 4) GUID, lowercase as Azure prints them.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("queue: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return formatGUID(b, 4)
}

// derivedID returns a GUID that is a pure function of its parts, so a retried
// write yields the same id and JetStream deduplicates it.
func derivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	var b [16]byte
	copy(b[:], h.Sum(nil))
	return formatGUID(b, 8)
}

func formatGUID(b [16]byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	hex.Encode(out[9:13], b[4:6])
	hex.Encode(out[14:18], b[6:8])
	hex.Encode(out[19:23], b[8:10])
	hex.Encode(out[24:36], b[10:16])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// validID checks the 8-4-4-4-12 hex GUID form.
func validID(id string) error {
	if len(id) != 36 {
		return fmt.Errorf("message id %q: want a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		dash := i == 8 || i == 13 || i == 18 || i == 23
		hex := c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
		if dash != (c == '-') || !dash && !hex {
			return fmt.Errorf("message id %q: want a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e", id)
		}
	}
	return nil
}

// popReceipt encodes the stream sequence and delivery count of a delivery.
func popReceipt(seq uint64, delivered uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seq)
	binary.BigEndian.PutUint64(b[8:], delivered)
	return base64.StdEncoding.EncodeToString(b[:])
}

// fromStored builds a Message from a stored message's headers and text.
func fromStored(h nats.Header, text []byte, seq uint64, ttl time.Duration, stamp time.Time) Message {
	id := h.Get(hdrMessageID) // a message rewritten by Update Message keeps its id
	if id == "" {
		id = h.Get(nats.MsgIdHdr)
	}
	m := Message{
		ID:            id,
		Text:          text,
		Sequence:      seq,
		InsertionTime: stamp.UTC(),
		OriginalID:    h.Get(hdrOriginalID),
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(hdrInserted)); err == nil {
		m.InsertionTime = t.UTC()
	}
	m.ExpirationTime = m.InsertionTime.Add(ttl)
	if t, ok := headerTime(h, hdrExpires); ok {
		m.ExpirationTime = t
	}
	m.DequeueCount = dequeueBase(h)
	return m
}

// TriggerData is the message as a JSON value for the trigger binding: the
// body itself when it is valid JSON, otherwise the body as a JSON string.
// (The documented form; see HostTriggerData for what the host really sends.)
func (m *Message) TriggerData() json.RawMessage {
	if len(m.Body) > 0 && json.Valid(m.Body) {
		return json.RawMessage(m.Body)
	}
	s, _ := json.Marshal(string(m.Body)) // strings always marshal
	return s
}

// HostTriggerData is what the Azure Functions host actually puts in Data
// for a queue trigger of a custom handler: the message text serialized as
// a JSON string (Newtonsoft SerializeObject), itself sent as a JSON string.
// A handler written against real Azure unquotes twice. See DESIGN.md.
func (m *Message) HostTriggerData() json.RawMessage {
	return hostjson.Text(string(m.Body))
}
