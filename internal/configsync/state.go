package configsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"
)

var appName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// openSyncBucket opens (or creates) the region's sync bucket: which keys
// are replicas, and the stored exclusion patterns.
func (s *Syncer) openSyncBucket(ctx context.Context) error {
	name := syncBucket.name(s.region)
	kv, err := s.opts.Broker.JetStream().CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, History: 1, Replicas: s.opts.Broker.Replicas(),
		Description: "configsync: keys held as replicas of the primary's keys, exclusion patterns",
	})
	if err != nil {
		return fmt.Errorf("open bucket %s: %w", name, err)
	}
	s.kv = kv
	return nil
}

// owned lists app's keys that this region holds as replicas.
func (s *Syncer) owned(ctx context.Context, app string) ([]Ref, error) {
	l, err := s.kv.ListKeysFiltered(ctx, ownedPrefix+app+".>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list replicas of app %s: %w", app, err)
	}
	defer func() { _ = l.Stop() }()
	var out []Ref
	for k := range l.Keys() {
		if it, ok := decodeOwnedKey(k); ok && it.app == app {
			out = append(out, it.ref)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list replicas of app %s: %w", app, err)
	}
	return out, nil
}

// markOwned records that app's key r is a replica of source's key.
func (s *Syncer) markOwned(ctx context.Context, app string, r Ref, source string) error {
	if _, err := s.kv.Put(ctx, ownedKey(app, r), []byte(source)); err != nil {
		return fmt.Errorf("record replica: %w", err)
	}
	return nil
}

// resolveExclude returns the patterns given, else the stored ones, else
// Options.Exclude (DefaultExclude when empty).
func (s *Syncer) resolveExclude(ctx context.Context, given []string) (Exclude, error) {
	if given != nil {
		return NewExclude(given)
	}
	stored, err := s.storedExclude(ctx)
	if err != nil {
		return Exclude{}, err
	}
	if stored != nil {
		return NewExclude(stored)
	}
	return NewExclude(s.opts.Exclude)
}

func (s *Syncer) storedExclude(ctx context.Context) ([]string, error) {
	e, err := s.kv.Get(ctx, excludeKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read exclusion patterns: %w", err)
	}
	var p []string
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return nil, fmt.Errorf("read exclusion patterns: %s: %w", excludeKey, err)
	}
	if p == nil {
		p = []string{}
	}
	return p, nil
}

// setExclude checks and stores exclusion patterns.
func (s *Syncer) setExclude(ctx context.Context, patterns []string) error {
	if _, err := NewExclude(patterns); err != nil {
		return fmt.Errorf("store exclusion patterns: %w", err)
	}
	b, _ := json.Marshal(patterns)
	if _, err := s.kv.Put(ctx, excludeKey, b); err != nil {
		return fmt.Errorf("store exclusion patterns: %w", err)
	}
	return nil
}

// Exclude returns the patterns the continuous mode uses now.
func (s *Syncer) Exclude(ctx context.Context) ([]string, error) {
	ex, err := s.resolveExclude(ctx, nil)
	return ex.Patterns(), err
}
