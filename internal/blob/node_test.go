package blob

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// The tests of this file reproduce what @azure/storage-blob (Node.js)
// met: its requests, and answers it reads differently from azblob.

// TestXMLAsNodeReadsIt: @azure/core-xml decodes the five predefined
// entities only, so a numeric reference (encoding/xml's &#34; for a
// quote) reached the Node SDK as text: every listed ETag was
// "&#34;0x…&#34;" and a blob name with a quote or apostrophe was wrong.
func TestXMLAsNodeReadsIt(t *testing.T) {
	env := newEnv(t, nil)
	newContainer(t, env, "xmlq")
	name := `it's "q".txt`
	if _, err := env.client.UploadBuffer(env.ctx, "xmlq", name, []byte("x"),
		&azblob.UploadBufferOptions{Metadata: map[string]*string{"note": ptr(`say "hi"`)}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/xmlq?restype=container&comp=list&include=metadata", "?comp=list&include=metadata"} {
		p, q, _ := strings.Cut(path, "?")
		resp, body := rawDoQuery(t, env, "GET", p, q, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "&#") || !strings.Contains(string(body), "<Etag>&quot;0x") {
			t.Errorf("%s: numeric references or no &quot; in the ETag: %s", path, body)
		}
		if strings.HasPrefix(p, "/xmlq") && (!strings.Contains(string(body), "<Name>it&apos;s &quot;q&quot;.txt</Name>") ||
			!strings.Contains(string(body), "<note>say &quot;hi&quot;</note>")) {
			t.Errorf("%s: name or metadata not as Azure writes them: %s", path, body)
		}
	}
	resp, body := rawDo(t, env, "GET", "/xmlq/missing", nil)
	if resp.StatusCode != 404 || strings.Contains(string(body), "&#") || !strings.Contains(string(body), "\nRequestId:") {
		t.Errorf("error body: %d %s", resp.StatusCode, body)
	}
}
