package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// record is a timer's persisted schedule status, one key per app/function
// in the status bucket. Last, Next and LastUpdated are Azure's
// ScheduleStatus; the rest says who wrote it, for fencing and diagnosis.
type record struct {
	Last        time.Time `json:"last"`
	Next        time.Time `json:"next"`
	LastUpdated time.Time `json:"lastUpdated"`
	Schedule    string    `json:"schedule"`
	Epoch       uint64    `json:"epoch"`
	Node        string    `json:"node"`
}

// lease says which node runs a timer, until when (by the writers' clocks).
type lease struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
	Epoch  uint64    `json:"epoch"`
}

// errConflict means a compare-and-set lost: someone wrote the key first.
var errConflict = errors.New("revision conflict")

// store wraps the two buckets; every write is a compare-and-set on the
// key's revision (0 = the key must not exist).
type store struct {
	// status is swappable: a region reopens it after promotion (a handle
	// opened while the bucket was a mirror writes to the mirror's origin).
	status  atomic.Pointer[jetstream.KeyValue]
	lease   jetstream.KeyValue
	timeout time.Duration
}

func (s *store) statusKV() jetstream.KeyValue { return *s.status.Load() }

// openBucket opens an existing bucket as is (it may be a mirror that must
// not be reconfigured) or creates it.
func openBucket(ctx context.Context, js jetstream.JetStream, name string, replicas int) (jetstream.KeyValue, error) {
	return broker.OpenKV(ctx, js, jetstream.KeyValueConfig{Bucket: name, History: 1, Replicas: replicas})
}

func (s *store) getStatus(ctx context.Context, key string) (*record, uint64, error) {
	var r record
	rev, ok, err := s.get(ctx, s.statusKV(), key, &r)
	if err != nil || !ok {
		return nil, rev, err
	}
	return &r, rev, nil
}

func (s *store) putStatus(ctx context.Context, key string, r record, rev uint64) (uint64, error) {
	return s.put(ctx, s.statusKV(), key, r, rev)
}

func (s *store) getLease(ctx context.Context, key string) (*lease, uint64, error) {
	var l lease
	rev, ok, err := s.get(ctx, s.lease, key, &l)
	if err != nil || !ok {
		return nil, rev, err
	}
	return &l, rev, nil
}

func (s *store) putLease(ctx context.Context, key string, l lease, rev uint64) (uint64, error) {
	return s.put(ctx, s.lease, key, l, rev)
}

func (s *store) deleteLease(ctx context.Context, key string, rev uint64) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := s.lease.Delete(ctx, key, jetstream.LastRevision(rev))
	if isConflict(err) {
		return errConflict
	}
	return err
}

// get decodes key into v; ok is false when the key is absent or deleted.
func (s *store) get(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("get %s/%s: %w", kv.Bucket(), key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, false, fmt.Errorf("decode %s/%s: %w", kv.Bucket(), key, err)
	}
	return e.Revision(), true, nil
}

func (s *store) put(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s/%s: %w", kv.Bucket(), key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var nrev uint64
	if rev == 0 {
		nrev, err = kv.Create(ctx, key, b)
	} else {
		nrev, err = kv.Update(ctx, key, b, rev)
	}
	if isConflict(err) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("put %s/%s: %w", kv.Bucket(), key, err)
	}
	return nrev, nil
}

// isConflict reports a lost compare-and-set (R1 and replicated buckets
// report it with different codes).
func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
