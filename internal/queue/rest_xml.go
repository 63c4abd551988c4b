package queue

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/storage"
)

// XML bodies of the Queue service, element for element as Azure sends
// them (and as the azqueue SDK's generated models read them).

// maxBodyBytes bounds a message request body: a 64 KiB text escaped as
// XML ("&quot;" is six bytes for one) plus the envelope.
const maxBodyBytes = 6*MaxTextSize + 4096

// Azure metadata limits: names are C# identifiers, all pairs together at
// most 8 KiB.
const maxMetadataBytes = 8 << 10

type xmlMessagesList struct {
	XMLName  xml.Name     `xml:"QueueMessagesList"`
	Messages []xmlMessage `xml:"QueueMessage"`
}

// xmlMessage is one QueueMessage; which fields are set depends on the
// operation (put: no DequeueCount nor MessageText; peek: no PopReceipt
// nor TimeNextVisible).
type xmlMessage struct {
	MessageID       string  `xml:"MessageId"`
	InsertionTime   string  `xml:"InsertionTime"`
	ExpirationTime  string  `xml:"ExpirationTime"`
	PopReceipt      string  `xml:"PopReceipt,omitempty"`
	TimeNextVisible string  `xml:"TimeNextVisible,omitempty"`
	DequeueCount    *int64  `xml:"DequeueCount,omitempty"`
	MessageText     *string `xml:"MessageText,omitempty"`
}

// rfc1123 formats a time as the Queue service does.
func rfc1123(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// messageKind selects the fields of an xmlMessage.
type messageKind int

const (
	putResult messageKind = iota
	dequeued
	peekedMsg
)

func toXMLMessage(m Message, kind messageKind) xmlMessage {
	x := xmlMessage{MessageID: m.ID, InsertionTime: rfc1123(m.InsertionTime), ExpirationTime: rfc1123(m.ExpirationTime)}
	if kind != peekedMsg {
		x.PopReceipt, x.TimeNextVisible = m.PopReceipt, rfc1123(m.NextVisibleTime)
	}
	if kind != putResult {
		n, text := m.DequeueCount, string(m.Text)
		x.DequeueCount, x.MessageText = &n, &text
	}
	return x
}

type xmlQueueList struct {
	XMLName         xml.Name   `xml:"EnumerationResults"`
	ServiceEndpoint string     `xml:"ServiceEndpoint,attr"`
	Prefix          *string    `xml:"Prefix"`
	Marker          *string    `xml:"Marker"`
	MaxResults      *int       `xml:"MaxResults,omitempty"`
	Queues          []xmlQueue `xml:"Queues>Queue"`
	NextMarker      string     `xml:"NextMarker"`
}

type xmlQueue struct {
	Name     string       `xml:"Name"`
	Metadata *xmlMetadata `xml:"Metadata,omitempty"`
}

// xmlMetadata marshals name/value pairs as <name>value</name>, sorted.
type xmlMetadata map[string]string

func (m xmlMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// xmlDecl is the declaration Azure's Queue service starts its bodies with.
const xmlDecl = `<?xml version="1.0" encoding="utf-8"?>`

// marshalXML renders v after the XML declaration.
// with storage.MarshalXML's escapes (a JSON message text keeps its
// quotes for the JavaScript SDK).
func marshalXML(v any) ([]byte, error) {
	data, err := storage.MarshalXML(v)
	if err != nil {
		return nil, fmt.Errorf("encode XML: %w", err)
	}
	return append([]byte(xmlDecl), data...), nil
}

// messageBody is a Put or Update Message request body.
type messageBody struct {
	XMLName xml.Name `xml:"QueueMessage"`
	Text    *string  `xml:"MessageText"`
}

// errNoText: a body without a MessageText element.
var errNoText = errors.New("the body has no QueueMessage/MessageText element")

// parseMessageBody reads <QueueMessage><MessageText>..</MessageText></QueueMessage>
// and returns the text; the text must be at most MaxTextSize bytes.
func parseMessageBody(data []byte) ([]byte, error) {
	var b messageBody
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("XML body: %w", err)
	}
	if b.Text == nil {
		return nil, errNoText
	}
	if len(*b.Text) > MaxTextSize {
		return nil, fmt.Errorf("%w: MessageText has %d bytes", ErrTooLarge, len(*b.Text))
	}
	return []byte(*b.Text), nil
}

// readMessageBody reads and parses a bounded message body.
func readMessageBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, newRESTError(storage.ErrInvalid, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit (%d bytes).", maxBodyBytes)
	}
	if err != nil {
		return nil, badRequest("InvalidInput", "request body: %v", err)
	}
	text, err := parseMessageBody(data)
	if errors.Is(err, ErrTooLarge) {
		return nil, newRESTError(storage.ErrInvalid, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit: %v (at most %d bytes).", err, MaxTextSize)
	}
	if err != nil {
		return nil, badRequest("InvalidXmlDocument", "XML specified is not syntactically valid: %v", err)
	}
	return text, nil
}

// parseMetadata reads a request's x-ms-meta-* headers: names lowercased
// (Go's server canonicalizes header names, so their case is not kept),
// each a C# identifier, at most 8 KiB in all.
func parseMetadata(h http.Header) (map[string]string, error) {
	meta := map[string]string{}
	size := 0
	for k, vs := range h {
		name, ok := cutFold(k, "x-ms-meta-")
		if !ok {
			continue
		}
		name = strings.ToLower(name)
		if !validMetaName(name) {
			return nil, badRequest("InvalidMetadata", "metadata name %q (header %s): must be a C# identifier (letters, digits, '_', not starting with a digit)", name, k)
		}
		v := strings.Join(vs, ",")
		size += len(name) + len(v)
		meta[name] = v
	}
	if size > maxMetadataBytes {
		return nil, badRequest("MetadataTooLarge", "x-ms-meta-* headers: %d bytes of metadata, at most %d", size, maxMetadataBytes)
	}
	return meta, nil
}

// cutFold cuts prefix from s, ignoring ASCII case.
func cutFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func validMetaName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
