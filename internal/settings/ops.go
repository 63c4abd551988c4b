package settings

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrInvalid marks errors caused by a bad app name, setting name or value.
var ErrInvalid = errors.New("invalid setting")

var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Get returns a copy of an app's settings from memory.
func (s *Store) Get(app string) Snapshot { return s.c.snapshot(app) }

// Value returns one setting.
func (s *Store) Value(app string, k Kind, name string) (string, bool) {
	return s.c.get(app, k, name)
}

// Seeded reports whether the app's settings have been seeded.
func (s *Store) Seeded(app string) bool { return s.c.isSeeded(app) }

// Seed stores an app's settings from local.settings.json the first time
// the app is seen and reports whether it did. Once seeded, an app's
// settings change only through Put and Delete: later loads do not
// overwrite run-time changes.
func (s *Store) Seed(ctx context.Context, app string, values, connStrings map[string]string) (bool, error) {
	if s.c.isSeeded(app) {
		return false, nil
	}
	if err := s.checkAll(app, values, connStrings); err != nil {
		return false, fmt.Errorf("seed settings of app %s: %w", app, err)
	}
	for _, k := range []Kind{AppSetting, ConnectionString} {
		m := values
		if k == ConnectionString {
			m = connStrings
		}
		for _, name := range sortedKeys(m) {
			// Create, not Put: a seed interrupted before its marker is
			// retried without overwriting what it already wrote.
			if err := s.create(ctx, bucketKey(app, k, name), m[name]); err != nil {
				return false, fmt.Errorf("seed settings of app %s: %s %q: %w", app, k, name, err)
			}
		}
	}
	if err := s.create(ctx, seededKey(app), "1"); err != nil {
		return false, fmt.Errorf("seed settings of app %s: %w", app, err)
	}
	s.log.Info("settings seeded", "app", app, "values", len(values), "connection_strings", len(connStrings))
	return true, nil
}

func (s *Store) checkAll(app string, values, connStrings map[string]string) error {
	if !appName.MatchString(app) {
		return fmt.Errorf("%w: app name %q: use letters, digits and '-'", ErrInvalid, app)
	}
	for k, m := range map[Kind]map[string]string{AppSetting: values, ConnectionString: connStrings} {
		for name, v := range m {
			if err := check(app, k, name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) create(ctx context.Context, key, value string) error {
	rev, err := s.kv.Create(ctx, key, []byte(value))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	if app := s.c.apply(change{key: key, value: value, rev: rev}); app != "" {
		s.n.notify(app)
	}
	return nil
}

// Put sets a setting and reports whether it is new. The cache has it, and
// subscribers have been signalled, when Put returns.
func (s *Store) Put(ctx context.Context, app string, k Kind, name, value string) (created bool, err error) {
	if err := check(app, k, name, value); err != nil {
		return false, fmt.Errorf("put setting: %w", err)
	}
	key := bucketKey(app, k, name)
	rev, err := s.kv.Create(ctx, key, []byte(value))
	created = err == nil
	if errors.Is(err, jetstream.ErrKeyExists) {
		rev, err = s.kv.Put(ctx, key, []byte(value))
	}
	if err != nil {
		return false, fmt.Errorf("put %s %q of app %s: %w", k, name, app, err)
	}
	if changed := s.c.apply(change{key: key, value: value, rev: rev}); changed != "" {
		s.n.notify(changed)
	}
	return created, nil
}

// Delete removes a setting and reports whether it existed.
func (s *Store) Delete(ctx context.Context, app string, k Kind, name string) (bool, error) {
	if err := check(app, k, name, ""); err != nil {
		return false, fmt.Errorf("delete setting: %w", err)
	}
	if _, ok := s.c.get(app, k, name); !ok {
		return false, nil
	}
	key := bucketKey(app, k, name)
	if err := s.kv.Delete(ctx, key); err != nil {
		return false, fmt.Errorf("delete %s %q of app %s: %w", k, name, app, err)
	}
	if changed := s.c.apply(change{key: key, deleted: true}); changed != "" {
		s.n.notify(changed)
	}
	return true, nil
}

// DeleteApp removes every setting of an app and its seed marker, so a
// later Seed starts over.
func (s *Store) DeleteApp(ctx context.Context, app string) error {
	for _, key := range s.c.liveKeys(app) {
		if err := s.kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("delete settings of app %s: %w", app, err)
		}
		if changed := s.c.apply(change{key: key, deleted: true}); changed != "" {
			s.n.notify(changed)
		}
	}
	return nil
}

// Subscribe calls fn with an app's name after a change to its settings
// lands in the cache (from this process or another). Calls come from one
// goroutine, may be coalesced, and must not block for long. cancel stops
// further calls.
func (s *Store) Subscribe(fn func(app string)) (cancel func()) { return s.n.subscribe(fn) }

// Disabled reports whether an app setting disables a function:
// AzureWebJobs.<Function>.Disabled or AzureWebJobs_<Function>_Disabled set
// to "true" (any case) or "1". Names compare case-insensitively.
func (s *Store) Disabled(app, function string) bool { return s.c.isDisabled(app, function) }

func check(app string, k Kind, name, value string) error {
	if !appName.MatchString(app) {
		return fmt.Errorf("%w: app name %q: use letters, digits and '-'", ErrInvalid, app)
	}
	if k != AppSetting && k != ConnectionString {
		return fmt.Errorf("%w: unknown kind %d", ErrInvalid, k)
	}
	if name == "" || len(name) > 1024 || strings.ContainsAny(name, "=\x00") {
		return fmt.Errorf("%w: %s name %q: use 1 to 1024 bytes without '=' or NUL (names become environment variables)", ErrInvalid, k, name)
	}
	if strings.ContainsRune(value, 0) {
		return fmt.Errorf("%w: %s %q: the value contains a NUL byte", ErrInvalid, k, name)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
