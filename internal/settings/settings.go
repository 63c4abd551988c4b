// Package settings holds each app's app settings and connection strings for
// a region in a JetStream KV bucket mirrored into memory. They are seeded
// once from local.settings.json when an app is first seen, then changed at
// run time through the admin API; subscribers hear of every change so the
// host can restart handler processes with the new environment. It also
// answers the AzureWebJobs.<Function>.Disabled switch.
package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// Kind tells app settings from connection strings.
type Kind int

// The two kinds of settings.
const (
	AppSetting Kind = iota + 1
	ConnectionString
)

func (k Kind) token() string {
	if k == ConnectionString {
		return "c"
	}
	return "v"
}

func (k Kind) String() string {
	if k == ConnectionString {
		return "connection string"
	}
	return "app setting"
}

// Snapshot is a copy of an app's settings.
type Snapshot struct {
	Values            map[string]string `json:"values"`
	ConnectionStrings map[string]string `json:"connectionStrings"`
}

// Options configures a Store. Give either Broker, or JetStream and Bucket.
type Options struct {
	Broker *broker.Broker
	// Replicas for the bucket on a clustered NATS (default: the broker's).
	Replicas  int
	JetStream jetstream.JetStream
	Bucket    string // default Broker.Name("settings")
	// Apps, when set, lists the region's apps; the admin API answers 404
	// for others.
	Apps   func() map[string][]string
	Clock  clock.Clock
	Logger *slog.Logger
}

// Store is a region's app settings.
type Store struct {
	opts Options
	log  *slog.Logger
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	c    *cache
	n    *notifier

	ready    atomic.Bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New checks the options and returns a Store to Start.
func New(opts Options) (*Store, error) {
	if opts.Broker != nil {
		opts.JetStream = opts.Broker.JetStream()
		if opts.Bucket == "" {
			opts.Bucket = opts.Broker.Name("settings")
		}
		if opts.Replicas == 0 {
			opts.Replicas = opts.Broker.Replicas()
		}
	}
	if opts.JetStream == nil || opts.Bucket == "" {
		return nil, errors.New("settings: new: Options needs Broker, or JetStream and Bucket")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger.With("component", "settings")
	return &Store{opts: opts, log: log, js: opts.JetStream, c: newCache(), n: newNotifier(log)}, nil
}

// Start opens (or creates) the bucket and returns once the cache holds every
// stored setting; a watch keeps it current until Shutdown.
func (s *Store) Start(ctx context.Context) error {
	kv, err := openBucket(ctx, s.js, s.opts.Bucket, s.opts.Replicas)
	if err != nil {
		return fmt.Errorf("settings: start: %w", err)
	}
	s.kv = kv
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	loaded := make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.n.run(runCtx)
	}()
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
		return fmt.Errorf("settings: start: load bucket %s: %w", s.opts.Bucket, ctx.Err())
	}
}

func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	return broker.OpenKV(ctx, js, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Replicas: replicas, Description: "app settings and connection strings per app"})
}

// Ready reports whether the cache has been loaded.
func (s *Store) Ready() bool { return s.ready.Load() }

// Shutdown stops the watch and the notifier. It is safe to call more than
// once.
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
		return fmt.Errorf("settings: shutdown: %w", ctx.Err())
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
	first := true
	for {
		err := s.watchOnce(ctx, func(apps []string) {
			if first {
				first = false
				close(loaded)
				return
			}
			s.n.notify(apps...) // a re-watch may have missed changes
		})
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("settings watch stopped; retrying", "bucket", s.opts.Bucket, "err", err)
		t := s.opts.Clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func (s *Store) watchOnce(ctx context.Context, loaded func([]string)) error {
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
				apps := s.c.replace(snapshot)
				initial, snapshot = false, nil
				loaded(apps)
				continue
			}
			ch := changeOf(e)
			if initial {
				snapshot = append(snapshot, ch)
			} else if app := s.c.apply(ch); app != "" {
				s.n.notify(app)
			}
		}
	}
}

func changeOf(e jetstream.KeyValueEntry) change {
	op := e.Operation()
	return change{key: e.Key(), value: string(e.Value()), rev: e.Revision(),
		deleted: op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge}
}
