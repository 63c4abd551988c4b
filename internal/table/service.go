// Package table is Tandem's Azure Table storage: entities with typed
// properties kept in JetStream KV buckets, the operations and OData $filter
// queries Azure offers, a REST endpoint that the official Azure SDKs talk to
// with SharedKey authentication, and the calls the table input and output
// bindings of function apps need. Apps written against Azure Table storage
// run unchanged, and their data lives in the region's JetStream, so it is
// replicated and fails over with everything else.
//
// Storage layout, all in the region's namespace (broker.Name):
//   - one KV bucket per app and table, "<region>_T_<app>_<table lower-cased>";
//     each entity under the key "k"+base64url(PartitionKey)+".k"+base64url(RowKey),
//     its value the entity's JSON (Azure format plus Timestamp);
//   - the table catalog "<region>_TC" (key "<app>.<table lower-cased>",
//     value the table's name as created: names are case-insensitive but
//     case-preserving, as in Azure);
//   - the accounts "<region>_TA" (key app, value name and base64 key;
//     key "props.<app>", the app's Table service properties XML, "qprops.<app>"
//     its Queue service properties; key
//     "acl.<app>.<table lower-cased>", the table's stored access policies).
//
// Requests are authenticated by internal/storage: Shared Key, Shared Key
// Lite, account SAS and table SAS, each operation checked against what a
// SAS grants (auth.go). Entity group transactions ($batch) are one
// JetStream atomic batch on the table's stream (batch.go).
//
// The KV revision is the ETag, written W/"<revision>". Revisions survive a
// mirror's promotion, so ETags stay valid across a failover.
//
// In a secondary region these buckets are mirrors of the primary's: the
// service reads them at stream level under the region's own subjects and
// refuses to write them (replica.go), so a secondary answers reads from its
// replica and never writes into the primary through a mirror.
package table

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/storage"
)

// DefaultPathPrefix is where the REST endpoint expects to be mounted.
const DefaultPathPrefix = "/tables"

// Options configures a Service.
type Options struct {
	Broker *broker.Broker
	// Clock stamps Timestamp and checks request dates; clock.Real{} if nil.
	Clock  clock.Clock
	Logger *slog.Logger
	// PathPrefix is the path the REST handler is mounted at, without a
	// trailing slash (default "/tables"; "/" for a listener of its own).
	// Requests are /<prefix>/<account>/<resource>.
	PathPrefix string
	// BaseURL is the region's public URL ("http://127.0.0.1:7071") used in
	// the connection strings the admin API returns; empty derives it from
	// the admin request.
	BaseURL string
	// Replicas for table buckets (default 1).
	Replicas int
	// WriteGate, when set, runs before every REST write (not reads) and
	// refuses it with its error, a Refusal for a 503 with Retry-After: the
	// region refuses writes in a secondary and holds them in a region that
	// is becoming primary.
	WriteGate func(ctx context.Context) error
	// ReadOnly, when set and true, says the region is a secondary: its
	// buckets are mirrors of the primary's, and a missing one (its mirror
	// not created yet) reads as empty instead of being created.
	ReadOnly func() bool
	// Settled, when set, says the region is done changing role (false
	// while a new primary is still promoting its mirrors): an account not
	// found then is "retry" (503 ServerBusy), not "no such account".
	Settled func() bool
	// Stored, when set, is called after a REST write succeeded and before
	// it is answered (sync mode: the region waits for its standbys): etag
	// is the written entity's ETag, or empty for a write whose revision
	// the store does not return (a delete, an entity group transaction),
	// meaning everything the table holds now. An error answers 500: the
	// write is stored in this region but not known to be in the others.
	Stored func(ctx context.Context, app, table, etag string) error
	// GeoReplication, when set, reports the Get Service Stats answer:
	// live, bootstrap or unavailable, and the time before which every
	// write is in the secondary (zero: unknown). Without it: live, now.
	GeoReplication func() (status string, lastSync time.Time)
}

// Service stores tables for every app of a region.
type Service struct {
	opts    Options
	js      jetstream.JetStream
	clock   clock.Clock
	log     *slog.Logger
	prefix  string
	maxSize int

	mu      sync.Mutex
	buckets map[string]bucket
	keys    sync.Map // app -> []byte, the account key
	auth    *storage.Authenticator
}

// New returns a Service over the broker's JetStream.
func New(opts Options) (*Service, error) {
	if opts.Broker == nil {
		return nil, errors.New("table: Options.Broker is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	s := &Service{
		opts:    opts,
		js:      opts.Broker.JetStream(),
		clock:   opts.Clock,
		log:     opts.Logger.With("component", "table"),
		prefix:  normalizePrefix(opts.PathPrefix),
		maxSize: maxStoredSize(opts.Broker.Conn()),
		buckets: map[string]bucket{},
	}
	s.auth = s.newAuthenticator()
	return s, nil
}

func normalizePrefix(p string) string {
	if p == "" {
		return DefaultPathPrefix
	}
	return "/" + strings.Trim(p, "/")
}

// maxStoredSize is the largest entity value a KV put can carry: Azure's
// 1 MiB, or less when the server's max_payload is smaller.
func maxStoredSize(nc *nats.Conn) int {
	limit := maxEntityBytes + 64*1024
	if nc != nil && nc.MaxPayload() > 0 && int(nc.MaxPayload())-1024 < limit {
		limit = int(nc.MaxPayload()) - 1024
	}
	return limit
}

func (s *Service) bucketName(app, table string) string {
	return s.opts.Broker.Name("T", app, strings.ToLower(table))
}

// sysBucket opens (creating if needed) one of the service's own buckets;
// in a secondary, where it is a mirror, a read-only view of it.
func (s *Service) sysBucket(ctx context.Context, kind string) (bucket, error) {
	name := s.opts.Broker.Name(kind)
	if kv := s.cached(name); kv != nil {
		return kv, nil
	}
	b, replica, err := s.openBucket(ctx, name)
	if err == nil && replica {
		return b, nil // not cached: a promotion makes it writable
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) && s.readOnly() {
		return emptyReplica{name: name}, nil // its mirror has not arrived yet
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, s.bucketConfig(name, "Tandem table service "+kind))
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", name, err)
	}
	return s.cache(name, kvBucket{kv}), nil
}

func (s *Service) readOnly() bool { return s.opts.ReadOnly != nil && s.opts.ReadOnly() }

func (s *Service) settled() bool { return s.opts.Settled == nil || s.opts.Settled() }

func (s *Service) bucketConfig(name, desc string) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      name,
		Description: desc,
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    s.opts.Replicas,
	}
}

func (s *Service) cached(name string) bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buckets[name]
}

func (s *Service) cache(name string, kv bucket) bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = kv
	return kv
}

// Forget drops every cached bucket handle. A handle opened while a bucket
// was a mirror keeps sending writes to the mirror's origin, so the region
// calls this after its buckets were promoted or reseeded at a failover.
func (s *Service) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.buckets)
}

func (s *Service) evict(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.buckets, name)
}

// openTable returns the bucket of an existing table, or TableNotFound. A
// table that is a mirror (this region is a secondary) is opened read-only
// and not cached, since a promotion turns it into a writable bucket.
func (s *Service) openTable(ctx context.Context, app, table string) (bucket, error) {
	if err := validApp(app); err != nil {
		return nil, err
	}
	if err := ValidTableName(table); err != nil {
		return nil, err
	}
	name := s.bucketName(app, table)
	if kv := s.cached(name); kv != nil {
		return kv, nil
	}
	b, replica, err := s.openBucket(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) && s.readOnly() {
		return nil, errTableNotFound(table) // its mirror has not arrived yet
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return s.repairTable(ctx, app, table)
	}
	if err != nil {
		return nil, fmt.Errorf("open table %s/%s: %w", app, table, err)
	}
	if replica {
		return b, nil
	}
	return s.cache(name, b), nil
}

// repairTable creates the bucket of a table that is in the catalog but has
// no bucket (a create interrupted between the two steps).
func (s *Service) repairTable(ctx context.Context, app, table string) (bucket, error) {
	name, err := s.catalogName(ctx, app, table)
	if err != nil {
		return nil, err
	}
	return s.createBucket(ctx, app, name)
}

func (s *Service) createBucket(ctx context.Context, app, table string) (bucket, error) {
	name := s.bucketName(app, table)
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, s.bucketConfig(name, "Tandem table "+app+"/"+table))
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return s.cache(name, kvBucket{kv}), nil
}

// staleBucket reports errors that mean a cached bucket was deleted
// under us; the cache entry is dropped and the table reported missing.
func (s *Service) staleBucket(err error, app, table string) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrBucketNotFound) {
		s.evict(s.bucketName(app, table))
		return errTableNotFound(table)
	}
	return err
}

// entityKey encodes the two keys into a KV key; base64url keeps any
// character Azure allows, and the "k" prefix keeps empty keys valid.
func entityKey(pk, rk string) string {
	return keyToken(pk) + "." + keyToken(rk)
}

func keyToken(k string) string { return "k" + base64.RawURLEncoding.EncodeToString([]byte(k)) }

func parseKeyToken(t string) (string, bool) {
	if !strings.HasPrefix(t, "k") {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(t[1:])
	return string(b), err == nil
}

// FormatETag is the ETag of a KV revision.
func FormatETag(rev uint64) string { return `W/"` + strconv.FormatUint(rev, 10) + `"` }

// parseETag reads a revision back from an ETag (with or without W/).
func parseETag(etag string) (uint64, bool) {
	t := strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return 0, false
	}
	rev, err := strconv.ParseUint(t[1:len(t)-1], 10, 64)
	return rev, err == nil
}
