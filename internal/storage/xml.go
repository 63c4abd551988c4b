package storage

import (
	"bytes"
	"encoding/xml"
)

// MarshalXML is xml.Marshal with the character references Go writes for
// a quote, an apostrophe, a tab and a newline replaced by what Azure's
// services write: &quot;, &apos; and the raw tab and newline. encoding/xml
// writes &#34; &#39; &#x9; &#xA;, which every XML parser decodes but the
// JavaScript SDKs' (@azure/core-xml, fast-xml-parser with the five
// predefined entities only) does not: @azure/storage-blob listed every
// ETag as &#34;0x…&#34; and @azure/storage-queue a JSON message text
// with &#34; for its quotes. The replacement is also valid in an
// attribute, except a tab or newline there (a parser normalizes it to a
// space); no attribute Tandem writes can hold one (host names, container
// and queue names). A carriage return stays &#xD; (a raw one would be
// read back as a newline).
func MarshalXML(v any) ([]byte, error) {
	data, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return azureEscapes(data), nil
}

var escapeFix = [][2][]byte{
	{[]byte("&#34;"), []byte("&quot;")},
	{[]byte("&#39;"), []byte("&apos;")},
	{[]byte("&#x9;"), []byte("\t")},
	{[]byte("&#xA;"), []byte("\n")},
}

// azureEscapes rewrites encoding/xml's numeric references (see
// MarshalXML). A reference cannot come from the text itself: an "&" of
// the text is written as &amp;.
func azureEscapes(data []byte) []byte {
	if bytes.IndexByte(data, '&') < 0 {
		return data
	}
	for _, f := range escapeFix {
		data = bytes.ReplaceAll(data, f[0], f[1])
	}
	return data
}
