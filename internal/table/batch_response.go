package table

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tandemhq/tandem/internal/storage"
)

// The answer to a $batch, as Azure writes it and the SDKs parse it: 202
// Accepted, a multipart/mixed body holding one change set response with
// an application/http part per operation (204 No Content with the ETag,
// or 201 Created with the entity for an insert that wants content). When
// an operation fails, the change set response holds only that
// operation's error, whose message starts with its index ("1:...").

func batchBoundaries() (outer, inner string) {
	id := storage.RequestID()
	return "batchresponse_" + id, "changesetresponse_" + id
}

func writeBatchSuccess(q *request, parts []batchPart, out []Entity) {
	responses := make([][]byte, len(parts))
	for i, p := range parts {
		responses[i] = subResponse(q, p, out[i])
	}
	writeBatchBody(q, responses)
}

func subResponse(q *request, p batchPart, e Entity) []byte {
	h := http.Header{}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h["DataServiceVersion"] = oneValue("1.0;")
	if p.contentID != "" {
		h["Content-ID"] = oneValue(p.contentID)
	}
	if p.op.Kind != BatchDelete {
		h["ETag"] = oneValue(e.ETag)
	}
	status, body := http.StatusNoContent, []byte(nil)
	if p.op.Kind == BatchInsert {
		loc := q.base + "/" + p.table + "(PartitionKey='" + quoteKey(e.PartitionKey) + "',RowKey='" + quoteKey(e.RowKey) + "')"
		h.Set("Location", loc)
		h["DataServiceId"] = oneValue(loc)
		if p.noContent {
			h.Set("Preference-Applied", "return-no-content")
		} else {
			status = http.StatusCreated
			h["DataServiceVersion"] = oneValue("3.0;")
			h.Set("Content-Type", contentType(q.r))
			o := encodeOptions{noMetadata: noMetadata(q.r), metadataURL: q.base + "/$metadata#" + p.table + "/@Element"}
			body = appendEntity(nil, e, o)
		}
	}
	return httpPart(status, h, body)
}

// quoteKey doubles quotes, as keys are written in entity URLs.
func quoteKey(k string) string { return string(bytes.ReplaceAll([]byte(k), []byte("'"), []byte("''"))) }

func writeBatchFailure(q *request, index int, contentID string, e *Error) {
	h := http.Header{}
	h.Set("X-Content-Type-Options", "nosniff")
	h["DataServiceVersion"] = oneValue("3.0;")
	h.Set("Content-Type", "application/json;odata=minimalmetadata;streaming=true;charset=utf-8")
	if contentID != "" {
		h["Content-ID"] = oneValue(contentID)
	}
	indexed := *e
	indexed.Message = strconv.Itoa(index) + ":" + e.Message
	writeBatchBody(q, [][]byte{httpPart(e.Status, h, storage.JSONErrorBody(&indexed))})
}

// httpPart is one change set part: an HTTP response.
func httpPart(status int, h http.Header, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if body != nil {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	_ = h.Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	b.WriteString("\r\n")
	return b.Bytes()
}

// writeBatchBody wraps the parts (each already written with its
// headers) into the change set and batch envelopes.
func writeBatchBody(q *request, parts [][]byte) {
	outer, inner := batchBoundaries()
	var b bytes.Buffer
	b.WriteString("--" + outer + "\r\nContent-Type: multipart/mixed; boundary=" + inner + "\r\n\r\n")
	for _, part := range parts {
		b.WriteString("--" + inner + "\r\n")
		b.Write(part)
	}
	b.WriteString("--" + inner + "--\r\n--" + outer + "--\r\n")
	q.w.Header().Set("Cache-Control", "no-cache")
	writeRaw(q.w, http.StatusAccepted, b.Bytes(), "multipart/mixed; boundary="+outer)
}

// oneValue is a header value for a name kept as Azure spells it
// (http.Header.Set would canonicalize "DataServiceVersion").
func oneValue(v string) []string { return []string{v} }
