package keys

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrInvalid marks errors caused by a bad app, scope, key name or value.
var ErrInvalid = errors.New("invalid key request")

// ErrMasterFixed is returned by SetMaster when the Store has no MasterPath.
var ErrMasterFixed = errors.New("the master key cannot be changed here: this region has no master key file")

func (s *Store) setMaster(v string) { s.master.Store(&secret{s: v, b: []byte(v)}) }

// Master returns the region's master key.
func (s *Store) Master() string { return s.master.Load().s }

// IsMaster reports, in constant time, whether presented is the master key.
// The region's admin API should authenticate with it (the master key can
// change through SetMaster).
func (s *Store) IsMaster(presented string) bool {
	m := s.master.Load()
	return presented != "" && subtle.ConstantTimeCompare(m.b, []byte(presented)) == 1
}

// SetMaster replaces the master key (value empty: generate one), rewriting
// the master key file, and returns the new value.
func (s *Store) SetMaster(value string) (string, error) {
	if s.opts.MasterPath == "" {
		return "", fmt.Errorf("set master key: %w", ErrMasterFixed)
	}
	value, err := s.valueOrNew(value)
	if err != nil {
		return "", fmt.Errorf("set master key: %w", err)
	}
	if err := replaceMaster(s.opts.MasterPath, value); err != nil {
		return "", fmt.Errorf("set master key: %w", err)
	}
	s.setMaster(value)
	s.log.Info("master key replaced", "path", s.opts.MasterPath)
	return value, nil
}

// Authorize returns the level the presented key grants for a function of
// an app: the master key gives Admin, a host system key System, a host
// function key or one of the function's own keys Function, anything else
// Anonymous. Use Level.Satisfies to compare with a function's authLevel.
func (s *Store) Authorize(app, function, presented string) Level {
	l, _ := s.Identify(app, function, presented)
	return l
}

// Identify is Authorize that also names the matching key ("_master" for
// the master key). Checks run in the Azure host's order.
func (s *Store) Identify(app, function, presented string) (Level, string) {
	if presented == "" {
		return Anonymous, ""
	}
	if s.IsMaster(presented) {
		return Admin, MasterName
	}
	p := []byte(presented)
	s.c.mu.RLock()
	defer s.c.mu.RUnlock()
	if n, ok := s.c.match(app, SystemScope().id(), p); ok {
		return System, n
	}
	if n, ok := s.c.match(app, HostScope().id(), p); ok {
		return Function, n
	}
	if function != "" {
		if n, ok := s.c.match(app, FunctionScope(function).id(), p); ok {
			return Function, n
		}
	}
	return Anonymous, ""
}

// List returns the keys of one scope of an app, sorted by name. The
// master key is not among the system keys here.
func (s *Store) List(app string, sc Scope) []Key { return s.c.list(app, sc) }

// Get returns one key's value.
func (s *Store) Get(app string, sc Scope, name string) (string, bool) {
	return s.c.get(app, sc, name)
}

// Set stores a key (value empty: generate one) and reports whether it is
// new. The cache has the key when Set returns.
func (s *Store) Set(ctx context.Context, app string, sc Scope, name, value string) (stored string, created bool, err error) {
	if err := checkTarget(app, sc, name); err != nil {
		return "", false, fmt.Errorf("set key: %w: %w", ErrInvalid, err)
	}
	if value, err = s.valueOrNew(value); err != nil {
		return "", false, fmt.Errorf("set key %q: %w: %w", name, ErrInvalid, err)
	}
	key := kvKey(app, sc, name)
	rev, err := s.kv.Create(ctx, key, []byte(value))
	created = err == nil
	if errors.Is(err, jetstream.ErrKeyExists) {
		rev, err = s.kv.Put(ctx, key, []byte(value))
	}
	if err != nil {
		return "", false, fmt.Errorf("set key %q (%s of app %s): %w", name, sc, app, err)
	}
	s.c.apply(change{key: key, value: value, rev: rev})
	return value, created, nil
}

// Delete removes a key and reports whether it existed.
func (s *Store) Delete(ctx context.Context, app string, sc Scope, name string) (bool, error) {
	if err := checkTarget(app, sc, name); err != nil {
		return false, fmt.Errorf("delete key: %w: %w", ErrInvalid, err)
	}
	if _, ok := s.c.get(app, sc, name); !ok {
		return false, nil
	}
	key := kvKey(app, sc, name)
	if err := s.kv.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("delete key %q (%s of app %s): %w", name, sc, app, err)
	}
	s.c.apply(change{key: key, deleted: true})
	return true, nil
}

// EnsureDefaults gives the app a "default" host function key and each
// function a "default" key, once: the first time a scope is seen (as the
// Azure host does when it first creates a secrets file). A default key
// deleted later stays deleted.
func (s *Store) EnsureDefaults(ctx context.Context, app string, functions []string) error {
	scopes := []Scope{HostScope()}
	for _, fn := range functions {
		scopes = append(scopes, FunctionScope(fn))
	}
	for _, sc := range scopes {
		if err := s.ensureDefault(ctx, app, sc); err != nil {
			return fmt.Errorf("ensure default keys of app %s: %w", app, err)
		}
	}
	return nil
}

func (s *Store) ensureDefault(ctx context.Context, app string, sc Scope) error {
	if err := checkTarget(app, sc, DefaultName); err != nil {
		return err
	}
	marker := markerKey(app, sc)
	if s.c.marked(marker) {
		return nil
	}
	if _, ok := s.c.get(app, sc, DefaultName); !ok {
		if err := s.create(ctx, kvKey(app, sc, DefaultName), ""); err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
	}
	return s.create(ctx, marker, "1")
}

// create stores a bucket entry unless it exists; value empty generates a key.
func (s *Store) create(ctx context.Context, key, value string) error {
	value, err := s.valueOrNew(value)
	if err != nil {
		return err
	}
	rev, err := s.kv.Create(ctx, key, []byte(value))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	s.c.apply(change{key: key, value: value, rev: rev})
	return nil
}

// DeleteApp removes every key of an app (when the app leaves the region).
func (s *Store) DeleteApp(ctx context.Context, app string) error {
	for _, k := range s.c.liveKeys(app) {
		if err := s.kv.Delete(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("delete keys of app %s: %w", app, err)
		}
		s.c.apply(change{key: k, deleted: true})
	}
	return nil
}

func (s *Store) valueOrNew(v string) (string, error) {
	if v != "" {
		return v, checkValue(v)
	}
	r := s.opts.Rand
	if r == nil {
		r = rand.Reader
	}
	return generate(r)
}

func checkTarget(app string, sc Scope, name string) error {
	if !appName.MatchString(app) {
		return fmt.Errorf("app name %q: use letters, digits and '-'", app)
	}
	if sc.Kind < HostFunctionKeys || sc.Kind > FunctionKeys {
		return fmt.Errorf("unknown key scope %d", sc.Kind)
	}
	if sc.Kind == FunctionKeys && sc.Function == "" {
		return errors.New("function keys need a function name")
	}
	if name == "" || len(name) > 256 {
		return fmt.Errorf("key name %q: use 1 to 256 bytes", name)
	}
	return nil
}
