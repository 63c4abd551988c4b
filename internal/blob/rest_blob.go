package blob

import (
	"bytes"
	"crypto/md5"
	"hash/crc64"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandemhq/tandem/internal/storage"
)

// maxBlockListBody bounds a Put Block List body.
const maxBlockListBody = 2 << 20

// maxChecksumRange is Azure's limit on a range whose MD5 or CRC64 is asked.
const maxChecksumRange = 4 << 20

// putRequest reads the headers common to Put Blob and Put Block List.
func putRequest(r *http.Request, props func(http.Header) (Properties, error)) (PutRequest, error) {
	var req PutRequest
	var err error
	if req.Props, err = props(r.Header); err != nil {
		return req, err
	}
	if req.Metadata, err = parseMetadata(r.Header); err != nil {
		return req, err
	}
	if req.Cond, err = parseConditions(r.Header); err != nil {
		return req, err
	}
	req.ContentMD5, req.ContentCRC64, err = transactional(r.Header)
	return req, err
}

func (s *Service) putBlob(q *request) {
	switch t := q.r.Header.Get("x-ms-blob-type"); t {
	case "BlockBlob":
	case "":
		s.fail(q.w, q.r, invalid("MissingRequiredHeader", "header x-ms-blob-type is required (BlockBlob)"))
		return
	default:
		s.fail(q.w, q.r, newError(ErrInvalid, http.StatusNotImplemented, "NotImplemented", "x-ms-blob-type %q is not supported; only BlockBlob", t))
		return
	}
	if q.r.ContentLength > s.opts.MaxBlobBytes {
		s.fail(q.w, q.r, errTooLarge("Content-Length %d is larger than %d bytes, the limit on a Put Blob in this region", q.r.ContentLength, s.opts.MaxBlobBytes))
		return
	}
	req, err := putRequest(q.r, putBodyProps)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	body, structured, err := structuredBody(q.r)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	b, sums, err := s.PutBlob(q.r.Context(), q.t.account, q.t.container, q.t.blob, body, req)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), b.ETag, b.Modified)
	writtenHeaders(q.w.Header(), structured, sums, req.ContentCRC64 != nil)
	ok(q.w, http.StatusCreated)
}

func (s *Service) putBlock(q *request) {
	id := q.r.URL.Query().Get("blockid")
	if id == "" {
		s.fail(q.w, q.r, invalid("MissingRequiredQueryParameter", "query parameter blockid is required"))
		return
	}
	if q.r.ContentLength > s.opts.MaxBlockBytes {
		s.fail(q.w, q.r, errTooLarge("Content-Length %d is larger than %d bytes, the limit on a block in this region", q.r.ContentLength, s.opts.MaxBlockBytes))
		return
	}
	var req PutRequest
	var err error
	req.ContentMD5, req.ContentCRC64, err = transactional(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	body, structured, err := structuredBody(q.r)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	sums, err := s.StageBlock(q.r.Context(), q.t.account, q.t.container, q.t.blob, id, body, req)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	writtenHeaders(q.w.Header(), structured, sums, req.ContentCRC64 != nil)
	ok(q.w, http.StatusCreated)
}

func (s *Service) putBlockList(q *request) {
	req, err := putRequest(q.r, parseProps)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	refs, err := parseBlockList(http.MaxBytesReader(q.w, q.r.Body, maxBlockListBody), MaxBlocks)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	b, err := s.CommitBlocks(q.r.Context(), q.t.account, q.t.container, q.t.blob, refs, req)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), b.ETag, b.Modified)
	q.w.Header().Set("x-ms-request-server-encrypted", "true")
	ok(q.w, http.StatusCreated)
}

// getBlockList answers blocklisttype committed (the default),
// uncommitted or all. ETag and Last-Modified come only with a committed
// version, as in Azure.
func (s *Service) getBlockList(q *request) {
	var committed, uncommitted bool
	switch typ := q.r.URL.Query().Get("blocklisttype"); strings.ToLower(typ) {
	case "", "committed":
		committed = true
	case "uncommitted":
		uncommitted = true
	case "all":
		committed, uncommitted = true, true
	default:
		s.fail(q.w, q.r, invalid("InvalidQueryParameterValue", "blocklisttype must be committed, uncommitted or all, got %q", typ))
		return
	}
	list, err := s.Blocks(q.r.Context(), q.t.account, q.t.container, q.t.blob, committed, uncommitted)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	size := int64(0)
	if b := list.Blob; b != nil {
		setVersionHeaders(q.w.Header(), b.ETag, b.Modified)
		size = b.Size
	}
	q.w.Header().Set("x-ms-blob-content-length", itoa(size))
	out := blockListXML{}
	if committed {
		out.Committed = &blocksXML{Blocks: list.Committed}
	}
	if uncommitted {
		out.Uncommitted = &blocksXML{Blocks: list.Uncommitted}
	}
	writeXML(q.w, http.StatusOK, out)
}

func (s *Service) setBlobMetadata(q *request) {
	meta, err := parseMetadata(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	s.updateBlob(q, func(b *Blob) { b.Metadata = meta })
}

// setBlobProperties replaces the HTTP properties: those not sent are
// cleared, as in Azure.
func (s *Service) setBlobProperties(q *request) {
	props, err := parseProps(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	s.updateBlob(q, func(b *Blob) { b.Props = props })
}

func (s *Service) updateBlob(q *request, change func(*Blob)) {
	cond, err := parseConditions(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	b, err := s.UpdateBlob(q.r.Context(), q.t.account, q.t.container, q.t.blob, cond, change)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), b.ETag, b.Modified)
	ok(q.w, http.StatusOK)
}

func (s *Service) getBlobMetadata(q *request) {
	cond, err := parseConditions(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	_, b, err := s.GetBlob(q.r.Context(), q.t.account, q.t.container, q.t.blob, cond)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	setVersionHeaders(q.w.Header(), b.ETag, b.Modified)
	setMetadataHeaders(q.w.Header(), b.Metadata)
	ok(q.w, http.StatusOK)
}

func (s *Service) deleteBlob(q *request) {
	cond, err := parseConditions(q.r.Header)
	if err == nil {
		err = s.DeleteBlob(q.r.Context(), q.t.account, q.t.container, q.t.blob, cond)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	ok(q.w, http.StatusAccepted)
}

func (s *Service) listBlobs(q *request) {
	p, err := parseListParams(q.r)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	blobs, err := s.ListBlobs(q.r.Context(), q.t.account, q.t.container)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	names := make([]string, len(blobs))
	for i, b := range blobs {
		names[i] = b.Name
	}
	page := paginate(names, p.prefix, p.delimiter, p.marker, p.max)
	out := blobsXML{ServiceEndpoint: requestBase(q.r) + s.prefix + "/" + q.t.account + "/", ContainerName: q.t.container,
		Prefix: p.prefix, Marker: p.marker, MaxResults: p.max, Delimiter: p.delimiter, NextMarker: page.next}
	for _, i := range page.items {
		out.Blobs.Blobs = append(out.Blobs.Blobs, blobEntry(blobs[i], p.metadata))
	}
	for _, pre := range page.prefixes {
		out.Blobs.Prefixes = append(out.Blobs.Prefixes, prefixXML{Name: pre})
	}
	writeXML(q.w, http.StatusOK, out)
}

// getBlob answers Get Blob and Get Blob Properties (HEAD).
func (s *Service) getBlob(q *request) {
	cond, err := parseConditions(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	rng, ranged, err := requestRange(q.r.Header)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	st, b, err := s.GetBlob(q.r.Context(), q.t.account, q.t.container, q.t.blob, cond)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	offset, length := int64(0), b.Size
	if ranged && q.r.Method == http.MethodGet {
		if offset, length, err = rng.resolve(b.Size); err != nil {
			q.w.Header().Set("Content-Range", "bytes */"+itoa(b.Size))
			s.fail(q.w, q.r, err)
			return
		}
	}
	blobHeaders(q.w.Header(), b)
	sasOverrides(q.w.Header(), q.r.URL.Query())
	if q.r.Method == http.MethodHead {
		q.w.Header().Set("Content-Length", itoa(b.Size))
		q.w.WriteHeader(http.StatusOK)
		return
	}
	s.sendBlob(q, st, b, offset, length, ranged)
}

func blobHeaders(h http.Header, b *Blob) {
	setVersionHeaders(h, b.ETag, b.Modified)
	setPropsHeaders(h, b.Props)
	setMetadataHeaders(h, b.Metadata)
	if b.Props.ContentMD5 != nil {
		h.Set("Content-MD5", b64(b.Props.ContentMD5))
	}
	h.Set("x-ms-creation-time", httpTime(b.Created))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-server-encrypted", "true")
	h.Set("x-ms-access-tier", "Hot")
	h.Set("x-ms-access-tier-inferred", "true")
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
}

// sasOverrides applies the response headers a service SAS names (rscc,
// rscd, rsce, rscl, rsct: they are part of what it signs) to Get Blob
// and Get Blob Properties, as Azure does; an account SAS signs none and
// overrides nothing.
func sasOverrides(h http.Header, q url.Values) {
	if !storage.HasSAS(q) || q.Has("ss") {
		return
	}
	for _, o := range [...]struct{ param, header string }{
		{"rscc", "Cache-Control"}, {"rscd", "Content-Disposition"}, {"rsce", "Content-Encoding"},
		{"rscl", "Content-Language"}, {"rsct", "Content-Type"},
	} {
		if v := q.Get(o.param); v != "" {
			h.Set(o.header, v)
		}
	}
}

// sendBlob writes the body (a 206 with Content-Range for a range).
func (s *Service) sendBlob(q *request, st store, b *Blob, offset, length int64, ranged bool) {
	h := q.w.Header()
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+itoa(offset)+"-"+itoa(offset+length-1)+"/"+itoa(b.Size))
		h.Del("Content-MD5")
		if b.Props.ContentMD5 != nil {
			h.Set("x-ms-blob-content-md5", b64(b.Props.ContentMD5))
		}
	}
	if v := q.r.Header.Get("x-ms-structured-body"); v != "" {
		s.sendStructured(q, st, b, offset, length, status, v)
		return
	}
	wantMD5 := strings.EqualFold(q.r.Header.Get("x-ms-range-get-content-md5"), "true")
	wantCRC := strings.EqualFold(q.r.Header.Get("x-ms-range-get-content-crc64"), "true")
	if wantMD5 || wantCRC {
		s.sendChecksummed(q, st, b, offset, length, status, wantMD5)
		return
	}
	h.Set("Content-Length", itoa(length))
	q.w.WriteHeader(status)
	if err := s.ReadBlob(q.r.Context(), st, b, offset, length, q.w); err != nil {
		s.log.Error("blob body cut short", "path", q.r.URL.Path, "err", err)
		panic(http.ErrAbortHandler) // the client sees a truncated body, not a wrong one
	}
}

// sendChecksummed sends a range of at most 4 MiB with its MD5 or CRC64.
func (s *Service) sendChecksummed(q *request, st store, b *Blob, offset, length int64, status int, wantMD5 bool) {
	if length > maxChecksumRange {
		s.fail(q.w, q.r, invalid("OutOfRangeInput", "a range with x-ms-range-get-content-md5 or -crc64 must be at most %d bytes, got %d", maxChecksumRange, length))
		return
	}
	var buf bytes.Buffer
	if err := s.ReadBlob(q.r.Context(), st, b, offset, length, &buf); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	h := q.w.Header()
	if wantMD5 {
		sum := md5.Sum(buf.Bytes())
		h.Set("Content-MD5", b64(sum[:]))
	} else {
		c := crc64.New(crc64Table)
		c.Write(buf.Bytes())
		h.Set("x-ms-content-crc64", b64(crcBytes(c)))
	}
	h.Set("Content-Length", itoa(int64(buf.Len())))
	q.w.WriteHeader(status)
	_, _ = io.Copy(q.w, &buf)
}

// sendStructured sends the range as a structured message with CRC64s.
func (s *Service) sendStructured(q *request, st store, b *Blob, offset, length int64, status int, v string) {
	if v != smHeaderValue {
		s.fail(q.w, q.r, invalid("InvalidHeaderValue", "header x-ms-structured-body: %q is not supported; only %q", v, smHeaderValue))
		return
	}
	h := q.w.Header()
	h.Set("x-ms-structured-body", smHeaderValue)
	h.Set("x-ms-structured-content-length", itoa(length))
	h.Set("Content-Length", itoa(smLength(length)))
	q.w.WriteHeader(status)
	sm, err := newSMWriter(q.w, length)
	if err == nil {
		err = s.ReadBlob(q.r.Context(), st, b, offset, length, sm)
	}
	if err == nil {
		err = sm.Close()
	}
	if err != nil {
		s.log.Error("blob body cut short", "path", q.r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// writtenHeaders are the checksum and encryption headers of an answer to
// a write of data (Put Blob, Put Block): the body's MD5, its CRC64 when
// the client sent one, and whether the body came structured.
func writtenHeaders(h http.Header, structured bool, sums digests, crcAsked bool) {
	if structured {
		h.Set("x-ms-structured-body", smHeaderValue)
	}
	h.Set("Content-MD5", b64(sums.md5))
	if crcAsked {
		h.Set("x-ms-content-crc64", b64(sums.crc64))
	}
	h.Set("x-ms-request-server-encrypted", "true")
}
