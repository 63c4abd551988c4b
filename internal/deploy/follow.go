package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// follow is the catch-up loop: every SyncInterval, on Kick, and whenever
// the source's bucket changes, it installs the source's newer deploys.
func (m *Manager) follow(ctx context.Context) {
	defer m.wg.Done()
	w := &sourceWatch{}
	defer w.stop()
	lastErr := ""
	for {
		src := m.opts.Follow()
		m.rewatch(ctx, w, src)
		if src != "" {
			lastErr = m.logSync(src, m.syncOnce(ctx, src), lastErr)
		}
		t := m.opts.Clock.NewTimer(m.opts.SyncInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-m.kick:
		case _, ok := <-w.updates():
			if !ok || !w.drain() {
				w.stop() // re-created on the next pass
			}
		}
		t.Stop()
	}
}

func (m *Manager) syncOnce(ctx context.Context, src string) error {
	_, err := m.SyncFrom(ctx, src)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// logSync logs a sync failure once until it changes or clears.
func (m *Manager) logSync(src string, err error, last string) string {
	switch {
	case err == nil && last != "":
		m.log.Info("package catch-up recovered", "source", src)
		return ""
	case err == nil:
		return ""
	case err.Error() != last:
		m.log.Warn("package catch-up failed; retrying", "source", src, "err", err)
	}
	return err.Error()
}

// Kick asks the follower to check its source now (after a role change).
func (m *Manager) Kick() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// SyncFrom installs, for each app, region src's current package when it
// is a newer deploy (later deployedAt, other version) than this region's,
// reading src's bucket across the leafnode. It returns the apps installed.
// A package that failed to load is not retried until src's version changes.
func (m *Manager) SyncFrom(ctx context.Context, src string) ([]string, error) {
	remote, ok, err := m.remoteStore(ctx, src)
	if err != nil || !ok {
		return nil, err
	}
	pkgs, err := remote.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("catch up from %s: %w", src, err)
	}
	var installed []string
	var errs []error
	for _, p := range pkgs {
		done, err := m.catchUp(ctx, remote, src, p)
		if done {
			installed = append(installed, p.App)
		}
		errs = append(errs, err)
	}
	return installed, errors.Join(errs...)
}

// catchUp installs p from remote if it is newer than the local current.
func (m *Manager) catchUp(ctx context.Context, remote store, src string, p Package) (bool, error) {
	local, err := m.store.current(ctx, p.App)
	if err != nil && !errors.Is(err, ErrNotDeployed) {
		return false, err
	}
	if err == nil && !Newer(p, local) || m.failedBefore(p) {
		return false, nil
	}
	archive, err := remote.archive(ctx, p.App, p.Version)
	if err != nil {
		return false, fmt.Errorf("catch up %s from %s: %w", p.App, src, err)
	}
	_, _, err = m.Deploy(ctx, p.App, archive, p.Version, p.DeployedAt, src)
	if errors.Is(err, ErrLoad) || errors.Is(err, ErrBadArchive) {
		m.markFailed(p)
	}
	if err != nil {
		return false, fmt.Errorf("catch up %s from %s: %w", p.App, src, err)
	}
	m.log.Info("package caught up", "app", p.App, "version", Short(p.Version), "source", src, "deployedAt", p.DeployedAt)
	return true, nil
}

// Newer reports whether a is a later deploy than b of another version:
// the newest deploy wins, whichever region holds it.
func Newer(a, b Package) bool {
	return a.Version != b.Version && a.DeployedAt.After(b.DeployedAt)
}

func (m *Manager) failedBefore(p Package) bool {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.failed[p.App] == p.Version
}

func (m *Manager) markFailed(p Package) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	m.failed[p.App] = p.Version
}

// remoteStore opens region src's packages bucket through its JetStream
// domain; ok is false when src has no bucket yet.
func (m *Manager) remoteStore(ctx context.Context, src string) (store, bool, error) {
	obs, err := m.remoteBucket(ctx, src)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return store{}, false, nil
	}
	if err != nil {
		return store{}, false, fmt.Errorf("open packages of %s: %w", src, err)
	}
	return store{obs: obs}, true, nil
}

func (m *Manager) remoteBucket(ctx context.Context, src string) (jetstream.ObjectStore, error) {
	js, err := jetstream.NewWithDomain(m.opts.Broker.Conn(), src)
	if err != nil {
		return nil, err
	}
	return js.ObjectStore(ctx, Bucket(src))
}

// sourceWatch watches the source region's bucket so a deploy there is
// caught up at once rather than at the next interval.
type sourceWatch struct {
	src string
	w   jetstream.ObjectWatcher
}

func (w *sourceWatch) updates() <-chan *jetstream.ObjectInfo {
	if w.w == nil {
		return nil
	}
	return w.w.Updates()
}

// drain discards queued updates (one sync covers them all); false when
// the watch has ended.
func (w *sourceWatch) drain() bool {
	for {
		select {
		case _, ok := <-w.updates():
			if !ok {
				return false
			}
		default:
			return true
		}
	}
}

func (w *sourceWatch) stop() {
	if w.w != nil {
		_ = w.w.Stop()
	}
	w.w, w.src = nil, ""
}

// rewatch (re)starts the watch when the source changed or it stopped;
// failures are left to the next pass (the interval check still runs).
func (m *Manager) rewatch(ctx context.Context, w *sourceWatch, src string) {
	if w.w != nil && w.src == src {
		return
	}
	w.stop()
	if src == "" {
		return
	}
	obs, err := m.remoteBucket(ctx, src)
	if err != nil {
		return
	}
	ow, err := obs.Watch(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return
	}
	w.w, w.src = ow, src
}
