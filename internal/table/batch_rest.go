package table

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// The $batch endpoint: a multipart/mixed body holding one change set
// (multipart/mixed again) of application/http parts, each an entity
// request as the SDKs would send it alone. See batch_response.go for the
// answer.

// batchPart is one parsed operation of a change set.
type batchPart struct {
	op        BatchOp
	table     string
	res       resource
	verb      string
	contentID string
	noContent bool // Prefer: return-no-content (inserts)
}

func (s *Service) serveBatch(q *request) {
	if q.r.Method != http.MethodPost {
		s.badVerb(q)
		return
	}
	parts, err := s.readBatch(q)
	if err == nil {
		err = allowBatch(q, parts)
	}
	if err != nil {
		s.failBatch(q, parts, err)
		return
	}
	ops := make([]BatchOp, len(parts))
	for i, p := range parts {
		ops[i] = p.op
	}
	out, err := s.Batch(q.r.Context(), q.account, parts[0].table, ops)
	if err != nil {
		s.failBatch(q, parts, err)
		return
	}
	if err := s.stored(q, parts[0].table, ""); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	writeBatchSuccess(q, parts, out)
}

// failBatch answers a failed operation as Azure does (202 with the
// failed operation's response in the change set, its message prefixed
// with the index); any other failure as a plain error.
func (s *Service) failBatch(q *request, parts []batchPart, err error) {
	var be *BatchError
	if !errors.As(err, &be) {
		s.fail(q.w, q.r, err)
		return
	}
	e := asError(be.Err)
	if e.Status >= 500 && !errors.Is(e, ErrReadOnly) {
		s.log.Error("batch operation failed", "account", q.account, "index", be.Index, "err", err)
	}
	contentID := ""
	if be.Index < len(parts) {
		contentID = parts[be.Index].contentID
	}
	writeBatchFailure(q, be.Index, contentID, e)
}

// allowBatch checks each operation against a SAS.
func allowBatch(q *request, parts []batchPart) error {
	for i, p := range parts {
		n := tableNeed(p.verb, p.op.IfMatch != "", p.res)
		n.PartitionKey, n.RowKey, n.HasKeys = p.op.Entity.PartitionKey, p.op.Entity.RowKey, true
		if err := q.grant.Allow(n); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	return nil
}

// readBatch parses the outer multipart body and its change set.
func (s *Service) readBatch(q *request) ([]batchPart, error) {
	body := http.MaxBytesReader(q.w, q.r.Body, maxBodyBytes)
	outer, err := multipartReader(q.r.Header.Get("Content-Type"), body, "the batch")
	if err != nil {
		return nil, err
	}
	cs, err := outer.NextPart()
	if err != nil {
		return nil, invalid("InvalidInput", "the batch has no change set: %v", err)
	}
	inner, err := multipartReader(cs.Header.Get("Content-Type"), cs, "the change set")
	if err != nil {
		return nil, err
	}
	return s.readChangeSet(q, inner)
}

func multipartReader(contentType string, r io.Reader, what string) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, invalid("InvalidInput", "Content-Type of %s must be multipart/mixed with a boundary, got %q", what, contentType)
	}
	return multipart.NewReader(r, params["boundary"]), nil
}

func (s *Service) readChangeSet(q *request, mr *multipart.Reader) ([]batchPart, error) {
	var parts []batchPart
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return parts, invalid("InvalidInput", "change set part %d: %v", len(parts), err)
		}
		if len(parts) == MaxBatchOps {
			return parts, &BatchError{Index: MaxBatchOps, Err: invalid("InvalidInput",
				"the change set exceeds the maximum of %d operations", MaxBatchOps)}
		}
		p, err := s.readPart(q, part)
		if err != nil {
			return parts, &BatchError{Index: len(parts), Err: err}
		}
		if len(parts) > 0 && !strings.EqualFold(p.table, parts[0].table) {
			return parts, &BatchError{Index: len(parts), Err: invalid("InvalidInput",
				"all operations of a change set must be on one table; operation 0 is on %q, this one on %q", parts[0].table, p.table)}
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, invalid("InvalidInput", "the change set has no operations")
	}
	return parts, nil
}

// readPart parses one application/http part into an operation.
func (s *Service) readPart(q *request, part *multipart.Part) (batchPart, error) {
	data, err := io.ReadAll(part)
	if err != nil {
		return batchPart{}, invalid("InvalidInput", "reading the operation: %v", err)
	}
	req, err := readPartRequest(data)
	if err != nil {
		return batchPart{}, err
	}
	account, rest, ok := s.splitPath(req.URL.Path)
	if !ok || account != q.account {
		return batchPart{}, invalid("InvalidUri", "operation URL %q is not under %s/%s", req.URL.Path, s.prefix, q.account)
	}
	res, err := parseResource(rest)
	if err != nil {
		return batchPart{}, err
	}
	p := batchPart{table: res.table, res: res, verb: method(req), contentID: part.Header.Get("Content-ID")}
	if p.contentID == "" {
		p.contentID = req.Header.Get("Content-ID")
	}
	p.op, err = partOp(req, res, p.verb)
	p.noContent = req.Header.Get("Prefer") == "return-no-content"
	return p, err
}

// readPartRequest parses an operation's request; one without
// Content-Length has the rest of the part as its body.
func readPartRequest(data []byte) (*http.Request, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, invalid("InvalidInput", "the operation is not an HTTP request: %v", err)
	}
	if req.Header.Get("Content-Length") == "" && len(req.TransferEncoding) == 0 {
		rest, _ := io.ReadAll(br)
		req.Body = io.NopCloser(bytes.NewReader(rest))
	}
	return req, nil
}

// partOp turns an entity request into a batch operation.
func partOp(req *http.Request, res resource, verb string) (BatchOp, error) {
	ifMatch := req.Header.Get("If-Match")
	if verb == http.MethodPost && res.kind == resTable {
		data, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes))
		if err != nil {
			return BatchOp{}, invalid("InvalidInput", "reading the entity: %v", err)
		}
		e, err := decodeInsert(data)
		return BatchOp{Kind: BatchInsert, Entity: e}, err
	}
	if res.kind != resEntity {
		return BatchOp{}, invalid("InvalidInput", "a change set holds entity inserts, updates, merges and deletes; %s on this resource is not one", verb)
	}
	keys := Entity{PartitionKey: res.pk, RowKey: res.rk}
	switch verb {
	case http.MethodDelete:
		return BatchOp{Kind: BatchDelete, Entity: keys, IfMatch: ifMatch}, nil
	case http.MethodPut, http.MethodPatch, "MERGE":
	default:
		return BatchOp{}, invalid("InvalidInput", "a change set cannot hold %s requests", verb)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxBodyBytes))
	if err != nil {
		return BatchOp{}, invalid("InvalidInput", "reading the entity: %v", err)
	}
	e, err := DecodeEntity(data)
	if err != nil {
		return BatchOp{}, err
	}
	e.PartitionKey, e.RowKey = res.pk, res.rk
	op := BatchOp{Kind: BatchUpsert, Mode: Replace, Entity: e, IfMatch: ifMatch}
	if verb != http.MethodPut {
		op.Mode = Merge
	}
	if ifMatch != "" {
		op.Kind = BatchUpdate
	}
	return op, nil
}
