package table

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/storage"
)

// A region's buckets are either its own (a primary) or mirrors of the
// primary's, kept under this region's names by subject transforms (a
// secondary; see internal/replicate/DESIGN.md). A nats.go KV handle opened
// on such a mirror takes its subjects from the origin's bucket name: its
// reads find nothing and its writes land in the origin region. So the
// service reads a mirror at stream level under its own subjects
// (replicaBucket) and refuses to write it: a secondary answers reads from
// its replica and never writes through the mirror.

// bucket is what the service reads and writes a table, the catalog or the
// accounts through.
type bucket interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
	// scan calls fn for the latest value of every live key matching filter.
	scan(ctx context.Context, filter string, fn func(jetstream.KeyValueEntry) error) error
}

// kvBucket is a bucket this region owns, through a KV handle.
type kvBucket struct{ jetstream.KeyValue }

func (b kvBucket) scan(ctx context.Context, filter string, fn func(jetstream.KeyValueEntry) error) error {
	return scanKV(ctx, b.KeyValue, filter, fn)
}

// ErrReadOnly is returned for a write to a bucket that is a mirror of the
// primary region's: this region is a secondary.
var ErrReadOnly = storage.ErrReadOnly

// RefusedHeader marks a write refused before anything was written, so the
// traffic manager's proxy may send it to the primary (proxy.RefusedHeader).
const RefusedHeader = storage.RefusedHeader

// ReplicaRetryAfter is the Retry-After a refused write carries.
const ReplicaRetryAfter = time.Second

func errReplica(name, primary string) *Error {
	e := newError(ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy",
		"this region holds a read-only replica of %s (bucket %s); send writes to the primary region %s", primary, name, primary)
	e.RetryAfter = ReplicaRetryAfter
	return e
}

// openBucket opens an existing bucket: a replicaBucket when it is a
// mirror, a KV handle otherwise; jetstream.ErrBucketNotFound if missing.
func (s *Service) openBucket(ctx context.Context, name string) (bucket, bool, error) {
	st, err := s.js.Stream(ctx, "KV_"+name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, false, jetstream.ErrBucketNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("open bucket %s: %w", name, err)
	}
	if m := st.CachedInfo().Config.Mirror; m != nil {
		return &replicaBucket{st: st, name: name, primary: mirrorDomain(st.CachedInfo().Config.Metadata, m)}, true, nil
	}
	kv, err := s.js.KeyValue(ctx, name)
	if err != nil {
		return nil, false, fmt.Errorf("open bucket %s: %w", name, err)
	}
	return kvBucket{kv}, false, nil
}

// mirrorDomain names the region a mirror follows.
func mirrorDomain(meta map[string]string, m *jetstream.StreamSource) string {
	if d := meta["tandem.mirror.domain"]; d != "" {
		return d
	}
	if m.External != nil {
		return strings.TrimSuffix(strings.TrimPrefix(m.External.APIPrefix, "$JS."), ".API")
	}
	return "the primary"
}

// replicaBucket reads a mirror of the primary's bucket under this
// region's subjects ($KV.<local bucket>.<key>) and refuses writes.
type replicaBucket struct {
	st      jetstream.Stream
	name    string // local bucket name, e.g. west_T_app_orders
	primary string // the region mirrored
}

func (b *replicaBucket) subject(key string) string { return "$KV." + b.name + "." + key }

// Get returns the key's latest value, or jetstream.ErrKeyNotFound when it
// has none or was deleted.
func (b *replicaBucket) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	msg, err := b.st.GetLastMsgForSubject(ctx, b.subject(key))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, jetstream.ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("replica %s get: %w", b.name, err)
	}
	e := replicaEntry{bucket: b.name, key: key, value: msg.Data, rev: msg.Sequence, created: msg.Time, op: kvOp(msg.Header.Get(kvOpHeader))}
	if e.op != jetstream.KeyValuePut {
		return nil, jetstream.ErrKeyNotFound
	}
	return e, nil
}

const kvOpHeader = "KV-Operation"

func kvOp(h string) jetstream.KeyValueOp {
	switch h {
	case "DEL":
		return jetstream.KeyValueDelete
	case "PURGE":
		return jetstream.KeyValuePurge
	}
	return jetstream.KeyValuePut
}

// scan reads the last message of every subject matching filter with an
// ephemeral consumer on the mirror, skipping deletes.
func (b *replicaBucket) scan(ctx context.Context, filter string, fn func(jetstream.KeyValueEntry) error) error {
	c, err := b.st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: b.subject(filter), DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute, MemoryStorage: true,
	})
	if err != nil {
		return fmt.Errorf("replica %s scan: %w", b.name, err)
	}
	name := c.CachedInfo().Name
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.st.DeleteConsumer(dctx, name)
	}()
	if c.CachedInfo().NumPending == 0 {
		return nil
	}
	return b.drain(c, fn)
}

// drain fetches until the consumer reports nothing pending.
func (b *replicaBucket) drain(c jetstream.Consumer, fn func(jetstream.KeyValueEntry) error) error {
	for {
		batch, err := c.FetchNoWait(256)
		if err != nil {
			return fmt.Errorf("replica %s scan: %w", b.name, err)
		}
		n, done := 0, false
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("replica %s scan: %w", b.name, err)
			}
			done = meta.NumPending == 0
			if err := b.deliver(msg, meta, fn); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("replica %s scan: %w", b.name, err)
		}
		if done || n == 0 {
			return nil
		}
	}
}

func (b *replicaBucket) deliver(msg jetstream.Msg, meta *jetstream.MsgMetadata, fn func(jetstream.KeyValueEntry) error) error {
	op := kvOp(msg.Headers().Get(kvOpHeader))
	if op != jetstream.KeyValuePut {
		return nil
	}
	key := strings.TrimPrefix(msg.Subject(), "$KV."+b.name+".")
	return fn(replicaEntry{bucket: b.name, key: key, value: msg.Data(), rev: meta.Sequence.Stream, created: meta.Timestamp, op: op})
}

func (b *replicaBucket) Put(context.Context, string, []byte) (uint64, error) {
	return 0, errReplica(b.name, b.primary)
}

func (b *replicaBucket) Create(context.Context, string, []byte, ...jetstream.KVCreateOpt) (uint64, error) {
	return 0, errReplica(b.name, b.primary)
}

func (b *replicaBucket) Update(context.Context, string, []byte, uint64) (uint64, error) {
	return 0, errReplica(b.name, b.primary)
}

func (b *replicaBucket) Delete(context.Context, string, ...jetstream.KVDeleteOpt) error {
	return errReplica(b.name, b.primary)
}

// replicaEntry is one value read from a mirror.
type replicaEntry struct {
	bucket, key string
	value       []byte
	rev         uint64
	created     time.Time
	op          jetstream.KeyValueOp
}

func (e replicaEntry) Bucket() string                  { return e.bucket }
func (e replicaEntry) Key() string                     { return e.key }
func (e replicaEntry) Value() []byte                   { return e.value }
func (e replicaEntry) Revision() uint64                { return e.rev }
func (e replicaEntry) Created() time.Time              { return e.created }
func (e replicaEntry) Delta() uint64                   { return 0 }
func (e replicaEntry) Operation() jetstream.KeyValueOp { return e.op }

// emptyReplica stands for a bucket of a secondary whose mirror has not
// been created yet: nothing to read, and no write.
type emptyReplica struct{ name string }

func (b emptyReplica) refuse() error {
	e := newError(ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy",
		"this region is a secondary and its replica of bucket %s has not arrived yet; send writes to the primary region", b.name)
	e.RetryAfter = ReplicaRetryAfter
	return e
}

func (b emptyReplica) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	return nil, jetstream.ErrKeyNotFound
}

func (b emptyReplica) scan(context.Context, string, func(jetstream.KeyValueEntry) error) error {
	return nil
}

func (b emptyReplica) Put(context.Context, string, []byte) (uint64, error) {
	return 0, b.refuse()
}

func (b emptyReplica) Create(context.Context, string, []byte, ...jetstream.KVCreateOpt) (uint64, error) {
	return 0, b.refuse()
}

func (b emptyReplica) Update(context.Context, string, []byte, uint64) (uint64, error) {
	return 0, b.refuse()
}

func (b emptyReplica) Delete(context.Context, string, ...jetstream.KVDeleteOpt) error {
	return b.refuse()
}
