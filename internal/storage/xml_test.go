package storage

import (
	"encoding/xml"
	"testing"
)

// MarshalXML writes what the JavaScript SDKs' parser reads back (the
// predefined entities, no numeric references but &#xD;), and encoding/xml
// reads it back unchanged.
func TestMarshalXMLAsAzure(t *testing.T) {
	type doc struct {
		XMLName xml.Name `xml:"D"`
		Attr    string   `xml:"A,attr"`
		Text    string   `xml:"T"`
	}
	in := doc{Attr: `say "x"`, Text: "\"0x1\" it's <&> &#34;\t\n\r"}
	data, err := MarshalXML(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `<D A="say &quot;x&quot;"><T>&quot;0x1&quot; it&apos;s &lt;&amp;&gt; &amp;#34;` + "\t\n&#xD;</T></D>"
	if string(data) != want {
		t.Fatalf("got  %s\nwant %s", data, want)
	}
	var out doc
	if err := xml.Unmarshal(data, &out); err != nil || out.Attr != in.Attr || out.Text != in.Text {
		t.Fatalf("read back %+v, %v", out, err)
	}
}
