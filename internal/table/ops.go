package table

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/nats-io/nats.go/jetstream"
)

// UpdateMode says whether an update replaces the entity's properties or
// merges the given ones into them.
type UpdateMode int

// Update modes, as in Azure (Update/InsertOrReplace vs Merge/InsertOrMerge).
const (
	Replace UpdateMode = iota
	Merge
)

func (m UpdateMode) String() string {
	if m == Merge {
		return "merge"
	}
	return "replace"
}

// maxCASAttempts bounds read-modify-write retries under contention.
const maxCASAttempts = 64

// Insert adds an entity; ErrConflict (EntityAlreadyExists) if one with the
// same keys exists. The returned entity carries its Timestamp and ETag.
func (s *Service) Insert(ctx context.Context, app, table string, e Entity) (Entity, error) {
	out, err := s.insert(ctx, app, table, e)
	if err != nil {
		return Entity{}, fmt.Errorf("insert %s/%s: %w", app, table, err)
	}
	return out, nil
}

func (s *Service) insert(ctx context.Context, app, table string, e Entity) (Entity, error) {
	kv, data, e, err := s.prepareWrite(ctx, app, table, e)
	if err != nil {
		return Entity{}, err
	}
	rev, err := kv.Create(ctx, entityKey(e.PartitionKey, e.RowKey), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Entity{}, errEntityExists(e.PartitionKey, e.RowKey)
	}
	if err != nil {
		return Entity{}, s.staleBucket(err, app, table)
	}
	e.ETag = FormatETag(rev)
	return e, nil
}

// prepareWrite validates e, opens its table, stamps Timestamp and encodes
// the stored form.
func (s *Service) prepareWrite(ctx context.Context, app, table string, e Entity) (bucket, []byte, Entity, error) {
	if err := e.Validate(); err != nil {
		return nil, nil, e, err
	}
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return nil, nil, e, err
	}
	e = e.clone()
	e.ETag = ""
	e.Timestamp = ticks(s.clock.Now())
	data, err := s.encodeStored(e)
	return kv, data, e, err
}

func (s *Service) encodeStored(e Entity) ([]byte, error) {
	data := appendEntity(nil, e, encodeOptions{stored: true})
	if len(data) > s.maxSize {
		return nil, invalid("EntityTooLarge", "entity (PartitionKey=%q, RowKey=%q) is %d bytes; the limit is %d", e.PartitionKey, e.RowKey, len(data), s.maxSize)
	}
	return data, nil
}

// Upsert inserts the entity or, if it exists, replaces it (Replace: Azure's
// Insert Or Replace) or merges its properties into it (Merge: Insert Or
// Merge). No ETag is checked.
func (s *Service) Upsert(ctx context.Context, app, table string, e Entity, mode UpdateMode) (Entity, error) {
	out, err := s.write(ctx, app, table, e, mode, "", true)
	if err != nil {
		return Entity{}, fmt.Errorf("upsert (%s) %s/%s: %w", mode, app, table, err)
	}
	return out, nil
}

// Update replaces or merges an existing entity when ifMatch ("*" or an
// ETag) matches: ErrNotFound (ResourceNotFound) if it does not exist,
// ErrPrecondition (UpdateConditionNotSatisfied) if the ETag is stale.
func (s *Service) Update(ctx context.Context, app, table string, e Entity, mode UpdateMode, ifMatch string) (Entity, error) {
	if ifMatch == "" {
		ifMatch = "*"
	}
	out, err := s.write(ctx, app, table, e, mode, ifMatch, false)
	if err != nil {
		return Entity{}, fmt.Errorf("update (%s) %s/%s: %w", mode, app, table, err)
	}
	return out, nil
}

// write is the read-modify-write behind Update and Upsert, retried while
// other writers move the revision (unless the caller pinned an ETag).
func (s *Service) write(ctx context.Context, app, table string, e Entity, mode UpdateMode, ifMatch string, upsert bool) (Entity, error) {
	kv, data, e, err := s.prepareWrite(ctx, app, table, e)
	if err != nil {
		return Entity{}, err
	}
	if upsert && mode == Replace {
		return s.put(ctx, kv, app, table, e, data)
	}
	key := entityKey(e.PartitionKey, e.RowKey)
	for range maxCASAttempts {
		out, retry, err := s.writeOnce(ctx, kv, key, e, mode, ifMatch, upsert)
		if !retry {
			return out, s.staleBucket(err, app, table)
		}
	}
	return Entity{}, fmt.Errorf("entity (PartitionKey=%q, RowKey=%q): gave up after %d conflicting writes", e.PartitionKey, e.RowKey, maxCASAttempts)
}

func (s *Service) put(ctx context.Context, kv bucket, app, table string, e Entity, data []byte) (Entity, error) {
	rev, err := kv.Put(ctx, entityKey(e.PartitionKey, e.RowKey), data)
	if err != nil {
		return Entity{}, s.staleBucket(err, app, table)
	}
	e.ETag = FormatETag(rev)
	return e, nil
}

// writeOnce makes one attempt; retry is true when a concurrent writer won
// a race that the caller did not pin with an ETag.
func (s *Service) writeOnce(ctx context.Context, kv bucket, key string, e Entity, mode UpdateMode, ifMatch string, upsert bool) (Entity, bool, error) {
	cur, rev, err := s.current(ctx, kv, key)
	if errors.Is(err, ErrNotFound) {
		if !upsert {
			return Entity{}, false, errEntityNotFound(e.PartitionKey, e.RowKey)
		}
		return s.createOnce(ctx, kv, key, e)
	}
	if err != nil {
		return Entity{}, false, err
	}
	if !etagMatches(ifMatch, rev) {
		return Entity{}, false, errPrecondition(e.PartitionKey, e.RowKey)
	}
	next := e
	if mode == Merge {
		next.Properties = mergeProps(cur.Properties, e.Properties)
	}
	data, err := s.encodeStored(next)
	if err != nil {
		return Entity{}, false, err
	}
	newRev, err := kv.Update(ctx, key, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		if ifMatch != "" && ifMatch != "*" {
			return Entity{}, false, errPrecondition(e.PartitionKey, e.RowKey)
		}
		return Entity{}, true, nil
	}
	next.ETag = FormatETag(newRev)
	return next, false, err
}

func (s *Service) createOnce(ctx context.Context, kv bucket, key string, e Entity) (Entity, bool, error) {
	data, err := s.encodeStored(e)
	if err != nil {
		return Entity{}, false, err
	}
	rev, err := kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Entity{}, true, nil
	}
	e.ETag = FormatETag(rev)
	return e, false, err
}

func mergeProps(cur, add map[string]Value) map[string]Value {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]Value{}
	}
	maps.Copy(out, add)
	return out
}

// etagMatches applies If-Match: empty (an upsert) and "*" match anything.
func etagMatches(ifMatch string, rev uint64) bool {
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	r, ok := parseETag(ifMatch)
	return ok && r == rev
}

// current reads the stored entity under key with its revision.
func (s *Service) current(ctx context.Context, kv bucket, key string) (Entity, uint64, error) {
	entry, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entity{}, 0, ErrNotFound
	}
	if err != nil {
		return Entity{}, 0, err
	}
	e, err := decodeEntity(entry.Value(), true)
	if err != nil {
		return Entity{}, 0, fmt.Errorf("stored entity %s: %w", key, err)
	}
	e.ETag = FormatETag(entry.Revision())
	return e, entry.Revision(), nil
}

// Get returns one entity; ErrNotFound (ResourceNotFound) if it does not
// exist, ErrNotFound (TableNotFound) if the table does not.
func (s *Service) Get(ctx context.Context, app, table, pk, rk string) (Entity, error) {
	e, err := s.get(ctx, app, table, pk, rk)
	if err != nil {
		return Entity{}, fmt.Errorf("get %s/%s: %w", app, table, err)
	}
	return e, nil
}

func (s *Service) get(ctx context.Context, app, table, pk, rk string) (Entity, error) {
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return Entity{}, err
	}
	e, _, err := s.current(ctx, kv, entityKey(pk, rk))
	if errors.Is(err, ErrNotFound) {
		return Entity{}, errEntityNotFound(pk, rk)
	}
	return e, s.staleBucket(err, app, table)
}

// Delete removes an entity when ifMatch ("*" or its ETag) matches.
func (s *Service) Delete(ctx context.Context, app, table, pk, rk, ifMatch string) error {
	if err := s.delete(ctx, app, table, pk, rk, ifMatch); err != nil {
		return fmt.Errorf("delete %s/%s: %w", app, table, err)
	}
	return nil
}

func (s *Service) delete(ctx context.Context, app, table, pk, rk, ifMatch string) error {
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return err
	}
	key := entityKey(pk, rk)
	for range maxCASAttempts {
		_, rev, err := s.current(ctx, kv, key)
		if errors.Is(err, ErrNotFound) {
			return errEntityNotFound(pk, rk)
		}
		if err != nil {
			return s.staleBucket(err, app, table)
		}
		if !etagMatches(ifMatch, rev) {
			return errPrecondition(pk, rk)
		}
		err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return s.staleBucket(err, app, table)
		}
		if ifMatch != "*" && ifMatch != "" {
			return errPrecondition(pk, rk)
		}
	}
	return fmt.Errorf("entity (PartitionKey=%q, RowKey=%q): gave up after %d conflicting writes", pk, rk, maxCASAttempts)
}
