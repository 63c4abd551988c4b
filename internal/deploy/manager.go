package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/funcapp"
)

// LoadFunc starts serving app from dir, replacing the running version
// after the new one is ready and draining the old one's requests
// (region.Region.LoadApp).
type LoadFunc func(ctx context.Context, app, dir string) error

// Options configures a Manager.
type Options struct {
	Broker  *broker.Broker // the region's store
	DataDir string         // packages unpack under DataDir/apps
	Load    LoadFunc
	// Follow names the region whose newer deploys this one installs (the
	// primary, for a secondary), "" for none. Called on every sync.
	Follow func() string
	// SyncInterval is how often a follower checks its source (default 2s);
	// it also watches the source's bucket for prompt catch-up.
	SyncInterval time.Duration
	// DrainTimeout bounds how long a switch waits for the old version's
	// in-flight requests (default 5m).
	DrainTimeout time.Duration
	Keep         int   // stored versions kept per app (default 3)
	MaxSize      int64 // largest archive accepted (default 256 MiB)
	Limits       Limits
	Clock        clock.Clock
	Logger       *slog.Logger
}

func (o *Options) defaults() {
	if o.SyncInterval <= 0 {
		o.SyncInterval = 2 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 5 * time.Minute
	}
	if o.Keep <= 0 {
		o.Keep = 3
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 256 << 20
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Follow == nil {
		o.Follow = func() string { return "" }
	}
}

// Manager stores, unpacks and activates a region's app packages.
type Manager struct {
	opts  Options
	log   *slog.Logger
	store store

	mu      sync.Mutex        // serializes installs
	stateMu sync.Mutex        // guards active and errs
	active  map[string]string // app -> version being served
	errs    map[string]string // app -> last failure to activate
	failed  map[string]string // app -> source version that failed to install

	kick     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ready    atomic.Bool
	stopOnce sync.Once
}

// New checks opts and returns a Manager that is not started.
func New(opts Options) (*Manager, error) {
	if opts.Broker == nil || opts.Load == nil || opts.DataDir == "" {
		return nil, errors.New("new package manager: Broker, Load and DataDir are required")
	}
	opts.defaults()
	return &Manager{
		opts: opts, log: opts.Logger.With("component", "deploy"),
		active: map[string]string{}, errs: map[string]string{}, failed: map[string]string{}, kick: make(chan struct{}, 1),
	}, nil
}

// Bucket is the name of region's packages object store.
func Bucket(region string) string { return broker.Name(region, BucketKind) }

// Start opens the bucket, activates the current version of every stored
// app (catch-up after a restart) and starts following the source region.
// An app whose package fails to load is logged and skipped.
func (m *Manager) Start(ctx context.Context) error {
	b := m.opts.Broker
	obs, err := b.JetStream().CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: Bucket(b.Region()), Description: "tandem app packages", Replicas: b.Replicas(),
	})
	if err != nil {
		return fmt.Errorf("start packages: open bucket: %w", err)
	}
	m.store = store{obs: obs}
	if err := m.activateStored(ctx); err != nil {
		return fmt.Errorf("start packages: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go m.follow(sctx)
	m.ready.Store(true)
	return nil
}

// Ready reports whether the manager has started.
func (m *Manager) Ready() bool { return m.ready.Load() }

// Shutdown stops following; an install in progress finishes first. Safe
// to call more than once.
func (m *Manager) Shutdown(context.Context) error {
	m.stopOnce.Do(func() {
		m.ready.Store(false)
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		m.mu.Lock() // wait for an install started by the admin API
		m.mu.Unlock()
	})
	return nil
}

// activateStored loads the current version of each app in the store.
func (m *Manager) activateStored(ctx context.Context) error {
	pkgs, err := m.store.list(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range pkgs {
		if err := m.activateCurrent(ctx, p); err != nil {
			m.setErr(p.App, err)
			m.log.Error("load stored package", "app", p.App, "version", Short(p.Version), "err", err)
			continue
		}
		m.log.Info("stored package loaded", "app", p.App, "version", Short(p.Version), "deployedAt", p.DeployedAt)
	}
	return nil
}

func (m *Manager) activateCurrent(ctx context.Context, p Package) error {
	dir := m.versionDir(p.App, p.Version)
	if _, err := os.Stat(dir); err != nil {
		archive, err := m.store.archive(ctx, p.App, p.Version)
		if err != nil {
			return err
		}
		if err := m.unpackTo(archive, p.App, p.Version); err != nil {
			return err
		}
	}
	return m.load(ctx, p.App, dir, p.Version)
}

// Deploy installs archive as app's current version: it is unpacked and
// verified (version, when not empty, must match the content), stored,
// loaded (the old version drains) and made current. deployedAt zero means
// now; source is "deploy" or the region it came from. unchanged reports
// that the version was already current and active.
func (m *Manager) Deploy(ctx context.Context, app string, archive []byte, version string, deployedAt time.Time, source string) (p Package, unchanged bool, err error) {
	if err := funcapp.ValidAppName(app); err != nil {
		return Package{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	staged, got, err := m.stage(archive, app)
	if err != nil {
		return Package{}, false, err
	}
	defer os.RemoveAll(staged)
	if version != "" && version != got {
		return Package{}, false, fmt.Errorf("%w: content version %s does not match the declared version %s", ErrBadArchive, got, version)
	}
	if cur, err := m.store.current(ctx, app); err == nil && cur.Version == got && m.Active(app) == got {
		return cur, true, nil
	}
	p = Package{App: app, Version: got, DeployedAt: deployedAt, Size: int64(len(archive)), Source: source}
	if p.DeployedAt.IsZero() {
		p.DeployedAt = m.opts.Clock.Now()
	}
	if err := m.install(ctx, p, staged, archive); err != nil {
		return Package{}, false, err
	}
	return p, false, nil
}

// install stores the archive, moves the staged tree into place, loads it
// and only then points current at it. A version that does not load leaves
// nothing behind: its folder and its stored archive (when this install
// made them) are removed.
func (m *Manager) install(ctx context.Context, p Package, staged string, archive []byte) error {
	stored, err := m.store.putArchive(ctx, p, archive)
	if err != nil {
		return err
	}
	dir := m.versionDir(p.App, p.Version)
	placed := false
	if _, err := os.Stat(dir); err != nil {
		if err := os.Rename(staged, dir); err != nil {
			m.forget(ctx, p, stored, false)
			return fmt.Errorf("install %s/%s: %w", p.App, Short(p.Version), err)
		}
		placed = true
	}
	if err := m.load(ctx, p.App, dir, p.Version); err != nil {
		m.forget(ctx, p, stored, placed)
		return err
	}
	p.ActivatedAt = m.opts.Clock.Now()
	if err := m.store.setCurrent(ctx, p); err != nil {
		return err
	}
	m.log.Info("package activated", "app", p.App, "version", Short(p.Version), "source", p.Source, "size", p.Size)
	m.cleanup(ctx, p)
	return nil
}

// forget removes what a refused install of p made: its unpacked folder
// (placed) and its stored archive (stored), never the active version's.
func (m *Manager) forget(ctx context.Context, p Package, stored, placed bool) {
	if m.Active(p.App) == p.Version {
		return
	}
	if placed {
		if err := os.RemoveAll(m.versionDir(p.App, p.Version)); err != nil {
			m.log.Warn("remove a refused package's files", "app", p.App, "version", Short(p.Version), "err", err)
		}
		_ = os.Remove(m.appDir(p.App)) // only when empty: a first deploy refused
	}
	if stored {
		if err := m.store.remove(ctx, p.App, p.Version); err != nil {
			m.log.Warn("remove a refused package from the store", "app", p.App, "version", Short(p.Version), "err", err)
		}
	}
}

// ErrLoad marks a package that unpacked but did not load as an app.
var ErrLoad = errors.New("package does not load")

func (m *Manager) load(ctx context.Context, app, dir, version string) error {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.DrainTimeout)
	defer cancel()
	err := m.opts.Load(lctx, app, dir)
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if err != nil {
		err = fmt.Errorf("%w: app %s version %s: %w", ErrLoad, app, Short(version), err)
		m.errs[app] = err.Error()
		return err
	}
	m.active[app] = version
	delete(m.errs, app)
	return nil
}

// cleanup removes other unpacked versions (the old one has drained) and
// old stored versions.
func (m *Manager) cleanup(ctx context.Context, p Package) {
	entries, _ := os.ReadDir(m.appDir(p.App))
	for _, e := range entries {
		if e.Name() != p.Version {
			_ = os.RemoveAll(filepath.Join(m.appDir(p.App), e.Name()))
		}
	}
	if err := m.store.prune(ctx, p.App, p.Version, m.opts.Keep); err != nil {
		m.log.Warn("prune old packages", "app", p.App, "err", err)
	}
}

// stage unpacks archive into a fresh temporary folder beside the app's
// versions and returns it with the content version.
func (m *Manager) stage(archive []byte, app string) (string, string, error) {
	if int64(len(archive)) > m.opts.MaxSize {
		return "", "", fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrBadArchive, len(archive), m.opts.MaxSize)
	}
	if err := os.MkdirAll(m.appDir(app), 0o755); err != nil {
		return "", "", fmt.Errorf("stage package: %w", err)
	}
	staged := filepath.Join(m.appDir(app), ".staging-"+randomSuffix())
	version, err := Unpack(bytes.NewReader(archive), staged, m.opts.Limits)
	if err != nil {
		_ = os.Remove(m.appDir(app)) // only when empty: a first deploy refused
	}
	return staged, version, err
}

// unpackTo unpacks a stored archive into its version folder, checking it
// still hashes to version.
func (m *Manager) unpackTo(archive []byte, app, version string) error {
	staged, got, err := m.stage(archive, app)
	if err != nil {
		return err
	}
	defer os.RemoveAll(staged)
	if got != version {
		return fmt.Errorf("%w: stored package %s/%s hashes to %s", ErrBadArchive, app, Short(version), Short(got))
	}
	return os.Rename(staged, m.versionDir(app, version))
}

func (m *Manager) appDir(app string) string { return filepath.Join(m.opts.DataDir, "apps", app) }

func (m *Manager) versionDir(app, version string) string {
	return filepath.Join(m.appDir(app), version)
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Current returns app's current package in this region.
func (m *Manager) Current(ctx context.Context, app string) (Package, error) {
	return m.store.current(ctx, app)
}

// List returns every app's current package in this region.
func (m *Manager) List(ctx context.Context) ([]Package, error) { return m.store.list(ctx) }

// Archive returns app's current package and its archive.
func (m *Manager) Archive(ctx context.Context, app string) (Package, []byte, error) {
	p, err := m.store.current(ctx, app)
	if err != nil {
		return Package{}, nil, err
	}
	b, err := m.store.archive(ctx, app, p.Version)
	return p, b, err
}

// LoadError is the last failure to load a package of app ("" after a
// success).
func (m *Manager) LoadError(app string) string {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.errs[app]
}

func (m *Manager) setErr(app string, err error) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	m.errs[app] = err.Error()
}

// Active is the version of app this region serves ("" for none).
func (m *Manager) Active(app string) string {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.active[app]
}
