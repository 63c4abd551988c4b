package queue

import (
	"strings"
	"testing"
	"time"
)

// The XML bodies element for element, as Azure's Queue service sends them.
func TestXMLBodiesAsAzure(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	m := Message{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Text: []byte("a<b"), DequeueCount: 2, PopReceipt: "AQE=",
		InsertionTime: at, ExpirationTime: at.Add(time.Hour), NextVisibleTime: at.Add(time.Minute)}
	prefix, marker, max := "or", "", 2
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"put", xmlMessagesList{Messages: []xmlMessage{toXMLMessage(m, putResult)}},
			`<QueueMessagesList><QueueMessage><MessageId>0f8fad5b-d9cb-469f-a165-70867728950e</MessageId>` +
				`<InsertionTime>Thu, 03 Dec 2026 10:00:00 GMT</InsertionTime><ExpirationTime>Thu, 03 Dec 2026 11:00:00 GMT</ExpirationTime>` +
				`<PopReceipt>AQE=</PopReceipt><TimeNextVisible>Thu, 03 Dec 2026 10:01:00 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>`},
		{"get", xmlMessagesList{Messages: []xmlMessage{toXMLMessage(m, dequeued)}},
			`<PopReceipt>AQE=</PopReceipt><TimeNextVisible>Thu, 03 Dec 2026 10:01:00 GMT</TimeNextVisible>` +
				`<DequeueCount>2</DequeueCount><MessageText>a&lt;b</MessageText></QueueMessage></QueueMessagesList>`},
		{"peek", xmlMessagesList{Messages: []xmlMessage{toXMLMessage(m, peekedMsg)}},
			`<ExpirationTime>Thu, 03 Dec 2026 11:00:00 GMT</ExpirationTime><DequeueCount>2</DequeueCount><MessageText>a&lt;b</MessageText></QueueMessage>`},
		// a JSON text keeps its quotes for @azure/storage-queue, whose
		// XML parser decodes &quot; but not encoding/xml's &#34;
		{"json", xmlMessagesList{Messages: []xmlMessage{toXMLMessage(Message{Text: []byte("{\"a\":\"it's\"}\n\t\r")}, peekedMsg)}},
			"<MessageText>{&quot;a&quot;:&quot;it&apos;s&quot;}\n\t&#xD;</MessageText>"},
		{"empty", xmlMessagesList{Messages: []xmlMessage{}}, `<QueueMessagesList></QueueMessagesList>`},
		{"list", xmlQueueList{ServiceEndpoint: "http://h/queues/shop/", Prefix: &prefix, Marker: &marker, MaxResults: &max,
			Queues: []xmlQueue{{Name: "orders", Metadata: &xmlMetadata{"b": "2", "a": "1"}}}, NextMarker: "/shop/orders-1"},
			`<EnumerationResults ServiceEndpoint="http://h/queues/shop/"><Prefix>or</Prefix><Marker></Marker><MaxResults>2</MaxResults>` +
				`<Queues><Queue><Name>orders</Name><Metadata><a>1</a><b>2</b></Metadata></Queue></Queues><NextMarker>/shop/orders-1</NextMarker></EnumerationResults>`},
	}
	for _, tt := range tests {
		b, err := marshalXML(tt.v)
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		if !strings.HasPrefix(got, `<?xml version="1.0" encoding="utf-8"?><`) || !strings.Contains(got, tt.want) {
			t.Errorf("%s:\n%s\nwant it to contain\n%s", tt.name, got, tt.want)
		}
	}
}
