package table

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Table output bindings, as the classic Azure extension (WebJobs
// TableEntityWriter) runs them: each entity the function returns is an
// insert (TableOperation.Insert), so an entity that already exists fails
// the write with 409 EntityAlreadyExists (the docs: "this output binding
// only supports creating new entities"); the table is created when it does
// not exist. Azure commits each partition's entities as one batch; Tandem
// inserts them one by one and, if one fails, deletes the ones this call
// inserted, so a failed output leaves nothing behind (barring a crash in
// between).

// DecodeBindingEntities reads a table output binding's value: one JSON
// object or an array of objects. As in the extension, "PartitionKey" and
// "RowKey" are matched case-insensitively and override the binding's
// partitionKey and rowKey; other members become properties typed from their
// JSON values (string, Int32 or Int64 for integers, Double, Boolean).
// "Name@odata.type" annotations are honoured too, so typed values can be
// written.
func DecodeBindingEntities(data []byte, partitionKey, rowKey string) ([]Entity, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, invalid("InvalidInput", "table output: expected an array of JSON objects: %v", err)
		}
		out := make([]Entity, 0, len(items))
		for i, raw := range items {
			e, err := bindingEntity(raw, partitionKey, rowKey)
			if err != nil {
				return nil, fmt.Errorf("table output entity %d: %w", i, err)
			}
			out = append(out, e)
		}
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, invalid("InvalidInput", "table output: expected a JSON object or an array of objects: %v", err)
	}
	e, err := bindingEntity(raw, partitionKey, rowKey)
	if err != nil {
		return nil, fmt.Errorf("table output: %w", err)
	}
	return []Entity{e}, nil
}

func bindingEntity(raw map[string]json.RawMessage, pk, rk string) (Entity, error) {
	if raw == nil {
		return Entity{}, invalid("InvalidInput", "expected a JSON object, got null")
	}
	hasPK, hasRK := pk != "", rk != ""
	for name, r := range raw {
		var dst *string
		switch {
		case strings.EqualFold(name, "PartitionKey"):
			dst, hasPK = &pk, true
		case strings.EqualFold(name, "RowKey"):
			dst, hasRK = &rk, true
		default:
			continue
		}
		s, err := scalarText(name, r)
		if err != nil {
			return Entity{}, err
		}
		*dst = s
		delete(raw, name)
	}
	if !hasPK || !hasRK {
		return Entity{}, invalid("PropertiesNeedValue", "the entity has no PartitionKey and RowKey (set them in the object or in the binding's partitionKey and rowKey)")
	}
	delete(raw, "Timestamp")
	annotateBigIntegers(raw)
	e, err := entityFromRaw(raw, false)
	e.PartitionKey, e.RowKey = pk, rk
	return e, err
}

// annotateBigIntegers types integers beyond Int32 as Int64 (the newer
// extension stores every JSON integer as Int64; the classic one fails on
// them), instead of the Double the REST API infers.
func annotateBigIntegers(raw map[string]json.RawMessage) {
	for name, r := range raw {
		if _, typed := raw[name+"@odata.type"]; typed || strings.Contains(name, "@") {
			continue
		}
		if _, err := strconv.ParseInt(string(r), 10, 32); err == nil {
			continue
		}
		if _, err := strconv.ParseInt(string(r), 10, 64); err == nil {
			raw[name+"@odata.type"] = json.RawMessage(`"Edm.Int64"`)
		}
	}
}

// scalarText reads a key given as a JSON string (or, leniently, a number
// or boolean, which the extension's string conversion also accepts).
func scalarText(name string, r json.RawMessage) (string, error) {
	if len(r) > 0 && r[0] == '"' {
		return jsonString(name, r)
	}
	if len(r) == 0 || r[0] == '{' || r[0] == '[' || isNull(r) {
		return "", invalid("InvalidInput", "%s must be a string", name)
	}
	return string(r), nil
}

// Write runs a table output binding for one entity: an insert, creating
// the table if needed. ErrConflict if the entity exists.
func (s *Service) Write(ctx context.Context, app, table string, e Entity) error {
	return s.WriteAll(ctx, app, table, []Entity{e})
}

// WriteAll runs a table output binding for several entities: all are
// inserted or none (see the package notes on bindings).
func (s *Service) WriteAll(ctx context.Context, app, table string, es []Entity) error {
	_, err := s.InsertAll(ctx, app, table, es)
	return err
}

// InsertAll is WriteAll returning the stored entities (with their ETags,
// which sync replication waits on).
func (s *Service) InsertAll(ctx context.Context, app, table string, es []Entity) ([]Entity, error) {
	for i, e := range es {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("table output %s/%s entity %d: %w", app, table, i, err)
		}
	}
	var done []Entity
	for i, e := range es {
		out, err := s.insertCreating(ctx, app, table, e)
		if err != nil {
			s.rollback(ctx, app, table, done)
			return nil, fmt.Errorf("table output %s/%s entity %d: %w", app, table, i, err)
		}
		done = append(done, out)
	}
	return done, nil
}

func (s *Service) insertCreating(ctx context.Context, app, table string, e Entity) (Entity, error) {
	out, err := s.Insert(ctx, app, table, e)
	var te *Error
	if errors.As(err, &te) && te.Code == "TableNotFound" {
		if err := s.EnsureTable(ctx, app, table); err != nil {
			return Entity{}, err
		}
		out, err = s.Insert(ctx, app, table, e)
	}
	return out, err
}

// rollback deletes entities this call inserted, unless changed since.
func (s *Service) rollback(ctx context.Context, app, table string, done []Entity) {
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return
	}
	for _, e := range done {
		rev, _ := parseETag(e.ETag)
		err := kv.Delete(ctx, entityKey(e.PartitionKey, e.RowKey), jetstream.LastRevision(rev))
		if err != nil {
			s.log.Warn("table output rollback failed", "app", app, "table", table, "err", err)
		}
	}
}

// bindingTime is how the extension's JSON serializer writes DateTime
// values: ISO 8601 in UTC with trailing zero digits of the fraction dropped.
const bindingTime = "2006-01-02T15:04:05.9999999Z07:00"

// BindingJSON is a table input binding's value for one entity, shaped as
// the Azure extension hands it to non-.NET functions: a plain JSON object
// with PartitionKey, RowKey, Timestamp and the properties as plain JSON
// values (Int64 as a number, DateTime as an ISO string, Binary as base64,
// Guid as a string), without odata annotations or ETag.
func BindingJSON(e Entity) []byte {
	w := &objectWriter{b: []byte{'{'}}
	w.key("PartitionKey")
	w.b = appendString(w.b, e.PartitionKey)
	w.key("RowKey")
	w.b = appendString(w.b, e.RowKey)
	if !e.Timestamp.IsZero() {
		w.key("Timestamp")
		w.b = appendString(w.b, e.Timestamp.UTC().Format(bindingTime))
	}
	for _, name := range propertyNames(e, encodeOptions{}) {
		w.key(name)
		w.b = appendPlain(w.b, e.Properties[name])
	}
	return append(w.b, '}')
}

// BindingArrayJSON is a table input binding's value for a query: a JSON
// array of BindingJSON objects ([] when nothing matched).
func BindingArrayJSON(es []Entity) []byte {
	b := []byte{'['}
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, BindingJSON(e)...)
	}
	return append(b, ']')
}

func appendPlain(b []byte, v Value) []byte {
	switch v.Type {
	case EdmInt64:
		return strconv.AppendInt(b, v.Int, 10)
	case EdmDateTime:
		return appendString(b, v.Time.UTC().Format(bindingTime))
	}
	return appendValue(b, v)
}
