package table

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Entity group transactions: up to 100 operations on the entities of one
// partition of one table, applied all or none, as Azure's $batch.
//
// Atomicity is the store's, not a lock's: the operations become one
// JetStream atomic batch (nats-server 2.12+, Nats-Batch-Id) on the
// table's KV stream, each message carrying the revision it expects its
// key to have (Nats-Expected-Last-Subject-Sequence). The server checks
// every expectation and stores all messages or none, so no crash,
// restart or concurrent writer can leave half a batch behind in the
// primary. Revisions (ETags) are the batch's consecutive sequences. The
// batch reaches a secondary through the same mirror as single writes.

// MaxBatchOps is Azure's limit of operations in one change set.
const MaxBatchOps = 100

// BatchKind is what one operation of a batch does.
type BatchKind int

// Batch operation kinds, as Azure's change set requests.
const (
	BatchInsert BatchKind = iota + 1 // POST: insert, conflict if present
	BatchUpdate                      // PUT/MERGE with If-Match: update an existing entity
	BatchUpsert                      // PUT/MERGE without If-Match: insert or replace/merge
	BatchDelete                      // DELETE with If-Match
)

// BatchOp is one operation of an entity group transaction.
type BatchOp struct {
	Kind    BatchKind
	Mode    UpdateMode // Update and Upsert: Replace or Merge
	Entity  Entity     // Delete: only the keys
	IfMatch string     // Update and Delete: "*" or an ETag
}

// BatchError is the failure of one operation of a batch: nothing of the
// batch was written. Index is the operation's position (from 0), which
// Azure reports as the "<index>:" prefix of the error message.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("operation %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// Batch applies ops atomically and returns the written entities (with
// their ETags; a deleted one with its keys only), in order. A failed
// operation is a *BatchError naming its index, and nothing was written.
func (s *Service) Batch(ctx context.Context, app, table string, ops []BatchOp) ([]Entity, error) {
	out, err := s.batch(ctx, app, table, ops)
	if err != nil {
		return nil, fmt.Errorf("batch %s/%s: %w", app, table, err)
	}
	return out, nil
}

func (s *Service) batch(ctx context.Context, app, table string, ops []BatchOp) ([]Entity, error) {
	if err := validateBatch(ops); err != nil {
		return nil, err
	}
	kv, err := s.openTable(ctx, app, table)
	if err != nil {
		return nil, err
	}
	if _, ok := kv.(kvBucket); !ok {
		_, err := kv.Put(ctx, "", nil) // a replica: its refusal
		return nil, err
	}
	st, err := s.atomicStream(ctx, s.bucketName(app, table))
	if err != nil {
		return nil, s.staleBucket(err, app, table)
	}
	for range maxCASAttempts {
		out, retry, err := s.batchOnce(ctx, st, s.bucketName(app, table), ops)
		if !retry {
			return out, err
		}
	}
	return nil, fmt.Errorf("gave up after %d conflicting writes", maxCASAttempts)
}

// validateBatch applies Azure's rules: 1 to 100 operations, one
// partition, each entity at most once, valid entities.
func validateBatch(ops []BatchOp) error {
	if len(ops) == 0 || len(ops) > MaxBatchOps {
		return invalid("InvalidInput", "a change set has 1 to %d operations, this one has %d", MaxBatchOps, len(ops))
	}
	seen := map[[2]string]bool{}
	for i, op := range ops {
		e := op.Entity
		if e.PartitionKey != ops[0].Entity.PartitionKey {
			return &BatchError{Index: i, Err: invalid("CommandsInBatchActOnDifferentPartitions",
				"all operations of a change set must be on one partition; operation 0 is on %q, this one on %q", ops[0].Entity.PartitionKey, e.PartitionKey)}
		}
		k := [2]string{e.PartitionKey, e.RowKey}
		if seen[k] {
			return &BatchError{Index: i, Err: invalid("InvalidDuplicateRow",
				"entity (PartitionKey=%q, RowKey=%q) appears more than once in the change set", e.PartitionKey, e.RowKey)}
		}
		seen[k] = true
		if err := validateOp(op); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	return nil
}

func validateOp(op BatchOp) error {
	switch op.Kind {
	case BatchDelete:
		if op.IfMatch == "" {
			return invalid("MissingRequiredHeader", "delete needs an If-Match header (an ETag or *)")
		}
		return validateKey("PartitionKey", op.Entity.PartitionKey)
	case BatchInsert, BatchUpdate, BatchUpsert:
		return op.Entity.Validate()
	}
	return invalid("InvalidInput", "unknown batch operation %d", op.Kind)
}

// atomicStream returns the table's KV stream, allowing atomic batch
// publish on it the first time (buckets are created without it, and a
// promoted mirror cannot have had it).
func (s *Service) atomicStream(ctx context.Context, bucket string) (jetstream.Stream, error) {
	st, err := s.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, err
	}
	cfg := st.CachedInfo().Config
	if cfg.Mirror != nil {
		return nil, errReplica(bucket, mirrorDomain(cfg.Metadata, cfg.Mirror))
	}
	if cfg.AllowAtomicPublish {
		return st, nil
	}
	cfg.AllowAtomicPublish = true
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return nil, fmt.Errorf("allow atomic publish on %s: %w", bucket, err)
	}
	return s.js.Stream(ctx, "KV_"+bucket)
}

// keyState is an entity key's last message: its sequence (0 if the key
// was never written) and the live entity, if any.
type keyState struct {
	seq    uint64
	entity Entity
	live   bool
}

func (s *Service) readState(ctx context.Context, st jetstream.Stream, bucket, key string) (keyState, error) {
	msg, err := st.GetLastMsgForSubject(ctx, "$KV."+bucket+"."+key)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return keyState{}, nil
	}
	if err != nil {
		return keyState{}, err
	}
	ks := keyState{seq: msg.Sequence}
	if kvOp(msg.Header.Get(kvOpHeader)) != jetstream.KeyValuePut {
		return ks, nil
	}
	ks.entity, err = decodeEntity(msg.Data, true)
	if err != nil {
		return ks, fmt.Errorf("stored entity %s: %w", key, err)
	}
	ks.entity.ETag, ks.live = FormatETag(msg.Sequence), true
	return ks, nil
}

// batchOnce reads every key, plans the writes and publishes them as one
// atomic batch; retry is true when a key moved between the read and
// the commit.
func (s *Service) batchOnce(ctx context.Context, st jetstream.Stream, bucket string, ops []BatchOp) ([]Entity, bool, error) {
	now := ticks(s.clock.Now())
	writes := make([]batchWrite, len(ops))
	for i, op := range ops {
		key := entityKey(op.Entity.PartitionKey, op.Entity.RowKey)
		ks, err := s.readState(ctx, st, bucket, key)
		if err != nil {
			return nil, false, err
		}
		w, err := s.plan(op, ks, now)
		if err != nil {
			return nil, false, &BatchError{Index: i, Err: err}
		}
		w.subject, w.expect, w.replaces = "$KV."+bucket+"."+key, ks.seq, ks.live
		writes[i] = w
	}
	first, err := s.publishBatch(ctx, writes)
	if errors.Is(err, errBatchConflict) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]Entity, len(writes))
	for i, w := range writes {
		out[i] = w.entity
		out[i].ETag = FormatETag(first + uint64(i))
	}
	return out, false, nil
}

// batchWrite is one message of the atomic batch.
type batchWrite struct {
	subject string
	expect  uint64
	data    []byte // nil: a delete
	entity  Entity
	// replaces is true when the key held a live entity: a mirror that
	// lost the rest of the batch cannot drop this write (its previous
	// value is gone from a one-value-per-key bucket).
	replaces bool
}

// plan checks op's condition against the key's state and builds its
// write.
func (s *Service) plan(op BatchOp, ks keyState, now time.Time) (batchWrite, error) {
	e := op.Entity.clone()
	pk, rk := e.PartitionKey, e.RowKey
	switch {
	case op.Kind == BatchInsert && ks.live:
		return batchWrite{}, errEntityExists(pk, rk)
	case (op.Kind == BatchUpdate || op.Kind == BatchDelete) && !ks.live:
		return batchWrite{}, errEntityNotFound(pk, rk)
	case (op.Kind == BatchUpdate || op.Kind == BatchDelete) && !etagMatches(op.IfMatch, ks.seq):
		return batchWrite{}, errPrecondition(pk, rk)
	case op.Kind == BatchDelete:
		return batchWrite{entity: Entity{PartitionKey: pk, RowKey: rk}}, nil
	}
	if op.Mode == Merge && ks.live {
		e.Properties = mergeProps(ks.entity.Properties, e.Properties)
	}
	e.ETag, e.Timestamp = "", now
	data, err := s.encodeStored(e)
	if err != nil {
		return batchWrite{}, err
	}
	return batchWrite{data: data, entity: e}, nil
}

// errBatchConflict: a key's revision moved since it was read.
var errBatchConflict = errors.New("a key changed during the batch")

// batchTooLarge is Azure's answer for a change set over its limits.
func batchTooLarge(format string, args ...any) *Error {
	return newError(ErrInvalid, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", format, args...)
}
