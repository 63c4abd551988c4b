// Package keys holds Azure Functions keys for the apps of a region: host
// function keys, host system keys and each function's own keys, in a
// JetStream KV bucket mirrored into memory so that checking a key on every
// request is a memory lookup. The master key is one per region (shared by
// all apps and the admin API) and lives in a 0600 file beside the region's
// data. Semantics follow the Azure Functions host's secret manager and
// keys admin API.
package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// Kind is the kind of a key scope.
type Kind int

// The key scopes of an app.
const (
	HostFunctionKeys Kind = iota + 1 // admin path "functionkeys" (alias "keys")
	HostSystemKeys                   // admin path "systemkeys"
	FunctionKeys                     // one function's own keys
)

// Scope is where a key lives within an app.
type Scope struct {
	Kind     Kind
	Function string // for FunctionKeys
}

// HostScope is the app's host function keys.
func HostScope() Scope { return Scope{Kind: HostFunctionKeys} }

// SystemScope is the app's host system keys.
func SystemScope() Scope { return Scope{Kind: HostSystemKeys} }

// FunctionScope is one function's keys.
func FunctionScope(fn string) Scope { return Scope{Kind: FunctionKeys, Function: fn} }

func (sc Scope) String() string {
	switch sc.Kind {
	case HostFunctionKeys:
		return "host function keys"
	case HostSystemKeys:
		return "host system keys"
	}
	return "keys of function " + sc.Function
}

// Key is a named key.
type Key struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DefaultName is the name of the keys EnsureDefaults creates.
const DefaultName = "default"

// MasterName is the master key's name in the admin API.
const MasterName = "_master"

// Options configures a Store. Give either Broker, or JetStream and Bucket.
type Options struct {
	Broker *broker.Broker
	// Replicas for the bucket on a clustered NATS (default: the broker's).
	Replicas  int
	JetStream jetstream.JetStream
	Bucket    string // default Broker.Name("keys")
	// Master is the region's master key (from LoadMaster); required.
	Master string
	// MasterPath, when set, lets the admin API replace the master key
	// (POST/PUT .../_master) by rewriting this file.
	MasterPath string
	// Apps lists the region's apps and their functions; the admin API uses
	// it to answer 404 for unknown apps and functions.
	Apps   func() map[string][]string
	Clock  clock.Clock
	Logger *slog.Logger
	Rand   io.Reader // key generation; default crypto/rand
}

// Store is a region's keys.
type Store struct {
	opts   Options
	log    *slog.Logger
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	c      *cache
	master atomic.Pointer[secret]

	ready    atomic.Bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// New checks the options and returns a Store to Start.
func New(opts Options) (*Store, error) {
	if opts.Broker != nil {
		opts.JetStream = opts.Broker.JetStream()
		if opts.Bucket == "" {
			opts.Bucket = opts.Broker.Name("keys")
		}
		if opts.Replicas == 0 {
			opts.Replicas = opts.Broker.Replicas()
		}
	}
	if opts.JetStream == nil || opts.Bucket == "" {
		return nil, errors.New("keys: new: Options needs Broker, or JetStream and Bucket")
	}
	if err := checkValue(opts.Master); err != nil {
		return nil, fmt.Errorf("keys: new: master key: %w", err)
	}
	if opts.Apps == nil {
		opts.Apps = func() map[string][]string { return nil }
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{opts: opts, log: opts.Logger.With("component", "keys"), js: opts.JetStream, c: newCache()}
	s.setMaster(opts.Master)
	return s, nil
}

// Start opens (or creates) the bucket and returns once the cache holds
// every stored key; a watch keeps it current until Shutdown.
func (s *Store) Start(ctx context.Context) error {
	kv, err := openBucket(ctx, s.js, s.opts.Bucket, s.opts.Replicas)
	if err != nil {
		return fmt.Errorf("keys: start: %w", err)
	}
	s.kv = kv
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	loaded := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watch(runCtx, loaded)
	}()
	select {
	case <-loaded:
		s.ready.Store(true)
		return nil
	case <-ctx.Done():
		s.stop()
		return fmt.Errorf("keys: start: load bucket %s: %w", s.opts.Bucket, ctx.Err())
	}
}

func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	return broker.OpenKV(ctx, js, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Replicas: replicas, Description: "Azure Functions keys per app"})
}

// Ready reports whether the cache has been loaded.
func (s *Store) Ready() bool { return s.ready.Load() }

// Shutdown stops the watch. It is safe to call more than once.
func (s *Store) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	done := make(chan struct{})
	go func() {
		s.stop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("keys: shutdown: %w", ctx.Err())
	}
}

func (s *Store) stop() {
	s.stopOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
	})
	s.wg.Wait()
}

// watch mirrors the bucket into the cache, re-watching after a failure.
func (s *Store) watch(ctx context.Context, loaded chan struct{}) {
	var once sync.Once
	signal := func() { once.Do(func() { close(loaded) }) }
	for {
		err := s.watchOnce(ctx, signal)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("keys watch stopped; retrying", "bucket", s.opts.Bucket, "err", err)
		t := s.opts.Clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func (s *Store) watchOnce(ctx context.Context, loaded func()) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.opts.Bucket, err)
	}
	defer w.Stop()
	var snapshot []change
	initial := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch %s: updates closed", s.opts.Bucket)
			}
			if e == nil {
				s.c.replace(snapshot)
				initial, snapshot = false, nil
				loaded()
				continue
			}
			ch := changeOf(e)
			if initial {
				snapshot = append(snapshot, ch)
			} else {
				s.c.apply(ch)
			}
		}
	}
}

func changeOf(e jetstream.KeyValueEntry) change {
	op := e.Operation()
	return change{key: e.Key(), value: string(e.Value()), rev: e.Revision(),
		deleted: op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge}
}
