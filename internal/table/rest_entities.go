package table

import (
	"encoding/json"
	"net/http"

	"github.com/tandemhq/tandem/internal/storage"
)

// REST handlers for entities.

func (s *Service) insertEntity(q *request) {
	e, err := s.insertBody(q)
	if err == nil {
		err = allowInsert(q, e.PartitionKey, e.RowKey)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	out, err := s.Insert(q.r.Context(), q.account, q.res.table, e)
	if err == nil {
		err = s.stored(q, q.res.table, out.ETag)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.Header().Set("ETag", out.ETag)
	if preferNoContent(q) {
		q.w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeEntity(q, http.StatusCreated, out, nil)
}

// insertBody reads an insert's entity, which must name both keys.
func (s *Service) insertBody(q *request) (Entity, error) {
	data, err := readBody(q)
	if err != nil {
		return Entity{}, err
	}
	return decodeInsert(data)
}

// decodeInsert decodes an insert's entity, which must name both keys.
func decodeInsert(data []byte) (Entity, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Entity{}, invalid("InvalidInput", "entity body is not a JSON object: %v", err)
	}
	for _, key := range []string{"PartitionKey", "RowKey"} {
		if _, ok := raw[key]; !ok {
			return Entity{}, invalid("PropertiesNeedValue", "the entity has no %s", key)
		}
	}
	return entityFromRaw(raw, false)
}

func (s *Service) bodyEntity(q *request) (Entity, error) {
	data, err := readBody(q)
	if err != nil {
		return Entity{}, err
	}
	return DecodeEntity(data)
}

// updateEntity serves PUT (replace) and MERGE/PATCH (merge): with If-Match
// an update of an existing entity, without it an insert-or-replace/merge.
func (s *Service) updateEntity(q *request, mode UpdateMode) {
	e, err := s.bodyEntity(q)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	e.PartitionKey, e.RowKey = q.res.pk, q.res.rk
	var out Entity
	if ifMatch := q.r.Header.Get("If-Match"); ifMatch != "" {
		out, err = s.Update(q.r.Context(), q.account, q.res.table, e, mode, ifMatch)
	} else {
		out, err = s.Upsert(q.r.Context(), q.account, q.res.table, e, mode)
	}
	if err == nil {
		err = s.stored(q, q.res.table, out.ETag)
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.Header().Set("ETag", out.ETag)
	q.w.WriteHeader(http.StatusNoContent)
}

func (s *Service) deleteEntity(q *request) {
	ifMatch := q.r.Header.Get("If-Match")
	if ifMatch == "" {
		s.fail(q.w, q.r, invalid("MissingRequiredHeader", "delete needs an If-Match header (an ETag or *)"))
		return
	}
	err := s.Delete(q.r.Context(), q.account, q.res.table, q.res.pk, q.res.rk, ifMatch)
	if err == nil {
		err = s.stored(q, q.res.table, "")
	}
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

// stored runs Options.Stored for q's successful write of table.
func (s *Service) stored(q *request, table, etag string) error {
	if s.opts.Stored == nil {
		return nil
	}
	if err := s.opts.Stored(q.r.Context(), q.account, table, etag); err != nil {
		return storage.NewError(err, http.StatusInternalServerError, "InternalError",
			"the write is stored in this region but its standbys did not confirm it (sync mode): %v", err)
	}
	return nil
}

func (s *Service) getEntity(q *request) {
	e, err := s.Get(q.r.Context(), q.account, q.res.table, q.res.pk, q.res.rk)
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	sel, err := requestSelection(q.r.URL.Query().Get("$select"))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	q.w.Header().Set("ETag", e.ETag)
	s.writeEntity(q, http.StatusOK, e, sel)
}

// requestSelection parses a request's $select.
func requestSelection(raw string) (*selection, error) {
	names, err := selectList(raw)
	if err != nil {
		return nil, err
	}
	return newSelection(names)
}

func (s *Service) writeEntity(q *request, status int, e Entity, selected *selection) {
	o := encodeOptions{
		noMetadata:  noMetadata(q.r),
		metadataURL: q.base + "/$metadata#" + q.res.table + "/@Element",
		selected:    selected,
	}
	writeRaw(q.w, status, appendEntity(nil, e, o), contentType(q.r))
}

// queryEntities serves Query Entities: $filter, $select, $top and the
// NextPartitionKey/NextRowKey continuation.
func (s *Service) queryEntities(q *request) {
	params := q.r.URL.Query()
	top, err := parseTop(params.Get("$top"))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	selected, err := selectList(params.Get("$select"))
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	sel, _ := newSelection(selected) // selectList capped it
	page, err := s.QueryPage(q.r.Context(), q.account, q.res.table, QueryOptions{
		Filter:           params.Get("$filter"),
		Select:           selected,
		Top:              top,
		NextPartitionKey: params.Get("NextPartitionKey"),
		NextRowKey:       params.Get("NextRowKey"),
	})
	if err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	if page.NextPartitionKey != "" {
		q.w.Header().Set("x-ms-continuation-NextPartitionKey", page.NextPartitionKey)
		q.w.Header().Set("x-ms-continuation-NextRowKey", page.NextRowKey)
	}
	body, err := s.pageJSON(q, page, sel)
	if err != nil {
		s.log.Info("query abandoned: the client went away", "account", q.account, "table", q.res.table, "err", err)
		return
	}
	writeRaw(q.w, http.StatusOK, body, contentType(q.r))
}

// pageJSON encodes a page; it gives up when the client has gone away.
func (s *Service) pageJSON(q *request, page Page, selected *selection) ([]byte, error) {
	o := encodeOptions{noMetadata: noMetadata(q.r), selected: selected}
	b := []byte{'{'}
	if !o.noMetadata {
		b = append(b, `"odata.metadata":`...)
		b = appendString(b, q.base+"/$metadata#"+q.res.table)
		b = append(b, ',')
	}
	b = append(b, `"value":[`...)
	for i, e := range page.Entities {
		if i > 0 {
			b = append(b, ',')
		}
		if err := checkEvery(q.r.Context(), i); err != nil {
			return nil, err
		}
		b = appendEntity(b, e, o)
	}
	return append(b, "]}"...), nil
}
