package blob

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxMetadataBytes is Azure's limit on the names and values of a
// resource's metadata together.
const maxMetadataBytes = 8 << 10

const metaPrefix = "x-ms-meta-"

// parseMetadata reads x-ms-meta-* headers. Names are kept lower-case (Go's
// server does not see the case a client sent; Azurite keeps them
// lower-case too) and must be C# identifiers, as in Azure.
func parseMetadata(h http.Header) (map[string]string, error) {
	var meta map[string]string
	size := 0
	for k, v := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), metaPrefix)
		if !ok {
			continue
		}
		if !validMetaName(name) {
			return nil, invalid("InvalidMetadata", "metadata name %q (header %s) is not a valid C# identifier", name, k)
		}
		if meta == nil {
			meta = map[string]string{}
		}
		meta[name] = strings.Join(v, ",")
		if size += len(name) + len(meta[name]); size > maxMetadataBytes {
			return nil, invalid("MetadataTooLarge", "metadata is larger than %d bytes", maxMetadataBytes)
		}
	}
	return meta, nil
}

func validMetaName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func setMetadataHeaders(h http.Header, meta map[string]string) {
	for k, v := range meta {
		h.Set(metaPrefix+k, v)
	}
}

// sortedKeys returns a map's keys in order (stable XML).
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseProps reads the x-ms-blob-content-* and x-ms-blob-cache-control
// headers of Put Blob, Put Block List and Set Blob Properties.
func parseProps(h http.Header) (Properties, error) {
	p := Properties{
		ContentType:        h.Get("x-ms-blob-content-type"),
		ContentEncoding:    h.Get("x-ms-blob-content-encoding"),
		ContentLanguage:    h.Get("x-ms-blob-content-language"),
		ContentDisposition: h.Get("x-ms-blob-content-disposition"),
		CacheControl:       h.Get("x-ms-blob-cache-control"),
	}
	var err error
	p.ContentMD5, err = decodeSum(h, "x-ms-blob-content-md5", 16)
	return p, err
}

// putBodyProps are Put Blob's: the body's own Content-* headers stand for
// the x-ms-blob-* ones when those are absent, as in Azure.
func putBodyProps(h http.Header) (Properties, error) {
	p, err := parseProps(h)
	fill := func(dst *string, header string) {
		if *dst == "" {
			*dst = h.Get(header)
		}
	}
	fill(&p.ContentType, "Content-Type")
	fill(&p.ContentEncoding, "Content-Encoding")
	fill(&p.ContentLanguage, "Content-Language")
	fill(&p.ContentDisposition, "Content-Disposition")
	fill(&p.CacheControl, "Cache-Control")
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	return p, err
}

// decodeSum reads a base64 checksum header of n bytes; nil if absent.
func decodeSum(h http.Header, name string, n int) ([]byte, error) {
	v := h.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != n {
		return nil, invalid("InvalidHeaderValue", "header %s: %q is not base64 of %d bytes", name, v, n)
	}
	return b, nil
}

// transactional reads the checksums a client sent with a body.
func transactional(h http.Header) (md5, crc []byte, err error) {
	if md5, err = decodeSum(h, "Content-MD5", 16); err != nil {
		return nil, nil, err
	}
	crc, err = decodeSum(h, "x-ms-content-crc64", 8)
	return md5, crc, err
}

func setPropsHeaders(h http.Header, p Properties) {
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Content-Type", p.ContentType)
	set("Content-Encoding", p.ContentEncoding)
	set("Content-Language", p.ContentLanguage)
	set("Content-Disposition", p.ContentDisposition)
	set("Cache-Control", p.CacheControl)
}

func setVersionHeaders(h http.Header, etag string, modified time.Time) {
	h.Set("ETag", etag)
	h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
}

func b64(b []byte) string {
	if b == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
