package blob

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// metaXML renders metadata as <Metadata><name>value</name>...</Metadata>.
type metaXML map[string]string

// MarshalXML writes the entries sorted by name.
func (m metaXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, k := range sortedKeys(m) {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// listParams are the query parameters of a listing.
type listParams struct {
	prefix, marker, delimiter string
	max                       int
	metadata                  bool
}

func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	p := listParams{prefix: q.Get("prefix"), marker: q.Get("marker"), delimiter: q.Get("delimiter"), max: maxListResults}
	if raw := q.Get("maxresults"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxListResults {
			return p, invalid("OutOfRangeQueryParameterValue", "query parameter maxresults must be 1 to %d, got %q", maxListResults, raw)
		}
		p.max = n
	}
	for _, inc := range strings.Split(q.Get("include"), ",") {
		if strings.TrimSpace(inc) == "metadata" {
			p.metadata = true
		}
	}
	return p, nil
}

func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

type containersXML struct {
	XMLName         xml.Name       `xml:"EnumerationResults"`
	ServiceEndpoint string         `xml:"ServiceEndpoint,attr"`
	Prefix          string         `xml:"Prefix,omitempty"`
	Marker          string         `xml:"Marker,omitempty"`
	MaxResults      int            `xml:"MaxResults,omitempty"`
	Containers      []containerXML `xml:"Containers>Container"`
	NextMarker      string         `xml:"NextMarker"`
}

type containerXML struct {
	Name       string            `xml:"Name"`
	Properties containerPropsXML `xml:"Properties"`
	Metadata   metaXML           `xml:"Metadata,omitempty"`
}

type containerPropsXML struct {
	LastModified          string `xml:"Last-Modified"`
	ETag                  string `xml:"Etag"`
	LeaseStatus           string `xml:"LeaseStatus"`
	LeaseState            string `xml:"LeaseState"`
	HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
	HasLegalHold          bool   `xml:"HasLegalHold"`
}

type blobsXML struct {
	XMLName         xml.Name    `xml:"EnumerationResults"`
	ServiceEndpoint string      `xml:"ServiceEndpoint,attr"`
	ContainerName   string      `xml:"ContainerName,attr"`
	Prefix          string      `xml:"Prefix,omitempty"`
	Marker          string      `xml:"Marker,omitempty"`
	MaxResults      int         `xml:"MaxResults,omitempty"`
	Delimiter       string      `xml:"Delimiter,omitempty"`
	Blobs           blobListXML `xml:"Blobs"`
	NextMarker      string      `xml:"NextMarker"`
}

type blobListXML struct {
	Blobs    []blobXML   `xml:"Blob"`
	Prefixes []prefixXML `xml:"BlobPrefix"`
}

type prefixXML struct {
	Name string `xml:"Name"`
}

type blobXML struct {
	Name       string       `xml:"Name"`
	Properties blobPropsXML `xml:"Properties"`
	Metadata   metaXML      `xml:"Metadata,omitempty"`
}

type blobPropsXML struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding"`
	ContentLanguage    string `xml:"Content-Language"`
	ContentMD5         string `xml:"Content-MD5"`
	ContentDisposition string `xml:"Content-Disposition"`
	CacheControl       string `xml:"Cache-Control"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier"`
	AccessTierInferred bool   `xml:"AccessTierInferred"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
}

func blobEntry(b *Blob, withMeta bool) blobXML {
	x := blobXML{Name: b.Name, Properties: blobPropsXML{
		CreationTime: httpTime(b.Created), LastModified: httpTime(b.Modified), ETag: b.ETag,
		ContentLength: b.Size, ContentType: b.Props.ContentType, ContentEncoding: b.Props.ContentEncoding,
		ContentLanguage: b.Props.ContentLanguage, ContentMD5: b64(b.Props.ContentMD5),
		ContentDisposition: b.Props.ContentDisposition, CacheControl: b.Props.CacheControl,
		BlobType: "BlockBlob", AccessTier: "Hot", AccessTierInferred: true,
		LeaseStatus: "unlocked", LeaseState: "available", ServerEncrypted: true,
	}}
	if withMeta {
		x.Metadata = metaXML(b.Metadata)
		if x.Metadata == nil {
			x.Metadata = metaXML{}
		}
	}
	return x
}
