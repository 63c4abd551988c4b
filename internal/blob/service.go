package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/storage"
)

// DefaultPathPrefix is where the REST endpoint expects to be mounted.
const DefaultPathPrefix = "/blobs"

// Limits. Azure allows 5000 MiB per put and 4000 MiB per block; a region
// keeps blobs in JetStream and bounds them much lower.
const (
	// DefaultMaxBlobBytes is the largest blob: a Put Blob body, and the sum of a
	// committed block list (256 MiB, the azblob SDK's single-put limit).
	DefaultMaxBlobBytes = 256 << 20
	// DefaultMaxBlockBytes is the largest Put Block body.
	DefaultMaxBlockBytes = 100 << 20
	// MaxBlocks is the most blocks a committed block list may name (Azure
	// allows 50,000; the list is kept in one JetStream message here).
	MaxBlocks = 4096
	// PartSize is the largest data object: bodies are split into parts of
	// this size, so a ranged read skips whole parts.
	PartSize = 4 << 20
	// DefaultTombstoneTTL: see Options.TombstoneTTL.
	DefaultTombstoneTTL = time.Hour
	// DefaultContainerBytes bounds one container's bucket.
	DefaultContainerBytes = 4 << 30
)

// Options configures a Service.
type Options struct {
	Broker *broker.Broker
	// Clock stamps Last-Modified; clock.Real{} if nil.
	Clock  clock.Clock
	Logger *slog.Logger
	// PathPrefix is the mount path of the REST handler (default "/blobs").
	PathPrefix string
	// Replicas for container buckets (default 1).
	Replicas int
	// MaxContainerBytes bounds each container's bucket (default
	// DefaultContainerBytes); a write past it gets 413 RequestBodyTooLarge.
	MaxContainerBytes int64
	// TombstoneTTL is how long the markers of deleted data objects (a
	// tombstone meta and an empty chunk rollup) are kept (default
	// DefaultTombstoneTTL); they only need to reach the mirrors.
	TombstoneTTL time.Duration
	// MaxBlobBytes and MaxBlockBytes bound a blob and a block (defaults
	// DefaultMaxBlobBytes, DefaultMaxBlockBytes).
	MaxBlobBytes, MaxBlockBytes int64
	// AccountKey returns an app's decoded storage account key, or an error
	// when there is no such account. Nil disables authentication (tests).
	AccountKey func(ctx context.Context, account string) ([]byte, error)
	// ReadOnly, when set and true, says the region is a secondary: its
	// buckets are mirrors, and a container is never created here.
	ReadOnly func() bool
	// GeoReplication, when set, reports the state Get Blob Service Stats
	// answers (live, bootstrap or unavailable, and the time every write
	// before which is in the secondary); "live" as of now without it.
	GeoReplication func() (status string, lastSync time.Time)
	// WriteGate, when set, runs before every REST write and refuses it with
	// its error (a Refusal: 503 with Retry-After in a secondary).
	WriteGate func(ctx context.Context) error
	// Stored, when set, is called after a write stored its records and
	// before it is acknowledged (a REST answer, WriteAll's return), with
	// the app, each stream the write stored records in and the last
	// sequence it stored there (the data chunks precede it). An error
	// fails the write: the REST answer is 500 InternalError. In sync mode
	// the region waits there for its standbys (sync.go).
	Stored func(ctx context.Context, app, stream string, seq uint64) error
}

// Service stores the containers and blobs of every app of a region.
type Service struct {
	opts   Options
	js     jetstream.JetStream
	clock  clock.Clock
	log    *slog.Logger
	prefix string
	etags  etagSource
	auth   *storage.Authenticator

	mu     sync.Mutex
	stores map[string]store     // own (not mirrored) buckets
	swept  map[string]time.Time // bucket -> last sweep of staged blocks (sweep.go)
}

// New returns a Service over the broker's JetStream.
func New(opts Options) (*Service, error) {
	if opts.Broker == nil {
		return nil, errors.New("blob: Options.Broker is required")
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
	if opts.TombstoneTTL == 0 {
		opts.TombstoneTTL = DefaultTombstoneTTL
	}
	if opts.MaxBlobBytes == 0 {
		opts.MaxBlobBytes = DefaultMaxBlobBytes
	}
	if opts.MaxBlockBytes == 0 {
		opts.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if opts.MaxContainerBytes == 0 {
		opts.MaxContainerBytes = DefaultContainerBytes
	}
	p := "/" + strings.Trim(opts.PathPrefix, "/")
	if opts.PathPrefix == "" {
		p = DefaultPathPrefix
	}
	s := &Service{
		opts: opts, js: opts.Broker.JetStream(), clock: opts.Clock,
		log: opts.Logger.With("component", "blob"), prefix: p,
		stores: map[string]store{}, swept: map[string]time.Time{},
	}
	s.auth = s.newAuthenticator()
	return s, nil
}

func (s *Service) readOnly() bool { return s.opts.ReadOnly != nil && s.opts.ReadOnly() }

// BucketName is the object store bucket of an app's container.
func (s *Service) BucketName(app, container string) string {
	return s.opts.Broker.Name("B", app, container)
}

// bucketPrefix is the bucket name prefix of an app's containers.
func (s *Service) bucketPrefix(app string) string { return s.opts.Broker.Name("B", app) + "_" }

// store is an open container bucket; replica is set when it is a mirror of
// the primary's (read-only here).
type store struct {
	jetstream.ObjectStore
	stream  jetstream.Stream
	name    string
	ttl     bool   // per-message TTLs allowed (buckets created since they are used)
	primary string // "" unless a mirror
}

func (st store) writable() error {
	if st.primary != "" {
		return errReplica(st.name, st.primary)
	}
	return nil
}

// open returns an existing container's bucket, or ContainerNotFound.
// Mirrors are not cached: a promotion makes them writable.
func (s *Service) open(ctx context.Context, app, container string) (store, error) {
	name := s.BucketName(app, container)
	s.mu.Lock()
	cached, ok := s.stores[name]
	s.mu.Unlock()
	if ok {
		return cached, nil
	}
	stream, err := s.js.Stream(ctx, "OBJ_"+name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return store{}, errContainerNotFound(container)
	}
	if err != nil {
		return store{}, fmt.Errorf("open container %s/%s: %w", app, container, err)
	}
	obs, err := s.js.ObjectStore(ctx, name)
	if err != nil {
		return store{}, fmt.Errorf("open container %s/%s: %w", app, container, err)
	}
	st := store{ObjectStore: obs, stream: stream, name: name, ttl: stream.CachedInfo().Config.AllowMsgTTL}
	if m := stream.CachedInfo().Config.Mirror; m != nil {
		st.primary = mirrorDomain(stream.CachedInfo().Config.Metadata, m)
		return st, nil
	}
	s.mu.Lock()
	s.stores[name] = st
	s.mu.Unlock()
	return st, nil
}

func (s *Service) evict(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stores, name)
	delete(s.swept, name)
}

// Forget drops every cached bucket handle; the region calls it after a
// promotion or reseed changed the streams underneath.
func (s *Service) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.stores)
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

func (s *Service) bucketConfig(app, container string) jetstream.ObjectStoreConfig {
	return jetstream.ObjectStoreConfig{
		Bucket:      s.BucketName(app, container),
		Description: "Tandem blob container " + app + "/" + container,
		MaxBytes:    s.opts.MaxContainerBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    s.opts.Replicas,
	}
}
