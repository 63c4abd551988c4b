package configsync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// bucket names one of the three buckets a region's configuration lives in.
type bucket int

const (
	settingsBucket bucket = iota
	keysBucket
	syncBucket
)

var buckets = []bucket{settingsBucket, keysBucket, syncBucket}

func (b bucket) kind() string {
	return [...]string{"settings", "keys", "sync"}[b]
}

// name is the bucket's name in region's namespace.
func (b bucket) name(region string) string { return broker.Name(region, b.kind()) }

// mirror is a region's configuration rebuilt from its bucket entries.
type mirror struct {
	region   string
	apps     map[string]*AppConfig
	replicas map[string]map[Ref]bool
	created  map[itemID]time.Time // when a live update's entry was written
	seen     [3]uint64            // the last revision applied per bucket
}

// itemID names one source item across apps.
type itemID struct {
	app string
	ref Ref
}

func newMirror(region string) *mirror {
	return &mirror{region: region, apps: map[string]*AppConfig{}, replicas: map[string]map[Ref]bool{}, created: map[itemID]time.Time{}}
}

// apply records one entry of bucket b and returns the app it concerns
// ("" for entries that are not configuration). live entries (after the
// initial values) remember their write time for the lag metric.
func (m *mirror) apply(b bucket, e jetstream.KeyValueEntry, live bool) string {
	m.seen[b] = max(m.seen[b], e.Revision())
	deleted := e.Operation() != jetstream.KeyValuePut
	if b == syncBucket {
		return m.applyOwned(e.Key(), deleted)
	}
	decode := decodeSettingsKey
	if b == keysBucket {
		decode = decodeKeysKey
	}
	it, ok := decode(e.Key())
	if !ok {
		return ""
	}
	m.set(it, string(e.Value()), deleted)
	if live && !deleted {
		m.created[itemID(it)] = e.Created()
	}
	return it.app
}

func (m *mirror) set(it item, value string, deleted bool) {
	a := m.apps[it.app]
	if a == nil {
		a = newAppConfig()
		m.apps[it.app] = a
	}
	if deleted {
		delete(a.keys(it.ref.Class, it.ref.Function, false), it.ref.Name)
		return
	}
	a.keys(it.ref.Class, it.ref.Function, true)[it.ref.Name] = value
}

func (m *mirror) applyOwned(key string, deleted bool) string {
	it, ok := decodeOwnedKey(key)
	if !ok {
		return ""
	}
	if m.replicas[it.app] == nil {
		m.replicas[it.app] = map[Ref]bool{}
	}
	if deleted {
		delete(m.replicas[it.app], it.ref)
	} else {
		m.replicas[it.app][it.ref] = true
	}
	return it.app
}

// app returns an app's configuration with its replicas listed.
func (m *mirror) app(name string) *AppConfig {
	a := m.apps[name]
	if a == nil {
		a = newAppConfig()
	}
	out := *a
	out.Replicas = sortedRefs(m.replicas[name])
	return &out
}

// snapshot returns the apps (all when only is empty).
func (m *mirror) snapshot(only string) *Snapshot {
	s := &Snapshot{Region: m.region, Apps: map[string]*AppConfig{}}
	for name := range m.apps {
		if only == "" || name == only {
			s.Apps[name] = m.app(name)
		}
	}
	return s
}

// takeCreated returns and forgets when the source of c was written.
func (m *mirror) takeCreated(c Change) (time.Time, bool) {
	id := itemID{app: c.App, ref: Ref{Class: c.Class, Function: c.Function, Name: c.SourceName()}}
	t, ok := m.created[id]
	delete(m.created, id)
	return t, ok
}

func sortedRefs(set map[Ref]bool) []Ref {
	out := make([]Ref, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		if a.Function != b.Function {
			return a.Function < b.Function
		}
		return a.Name < b.Name
	})
	return out
}

// ReadSnapshot reads region's configuration from its buckets through js,
// which may be another region's domain reached over the leafnode. A bucket
// the region does not have reads as empty.
func ReadSnapshot(ctx context.Context, js jetstream.JetStream, region string) (*Snapshot, error) {
	m := newMirror(region)
	for _, b := range buckets {
		if err := readBucket(ctx, js, region, b, m); err != nil {
			return nil, fmt.Errorf("read configuration of %s: %w", region, err)
		}
	}
	return m.snapshot(""), nil
}

func readBucket(ctx context.Context, js jetstream.JetStream, region string, b bucket, m *mirror) error {
	kv, err := js.KeyValue(ctx, b.name(region))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open bucket %s: %w", b.name(region), err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch bucket %s: %w", b.name(region), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("watch bucket %s: updates closed", b.name(region))
			}
			if e == nil {
				return nil
			}
			m.apply(b, e, false)
		}
	}
}

// appNames lists the apps the mirror knows.
func (m *mirror) appNames() []string { return sortedNames(m.apps) }
