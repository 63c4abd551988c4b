package settings

import (
	"encoding/base64"
	"maps"
	"strings"
	"sync"
)

// Bucket layout (one KV bucket per region, b.Name("settings")):
//
//	<app>.v.<name>   app setting
//	<app>.c.<name>   connection string
//	<app>.seeded     the app's settings were seeded once
//
// Names are base64url (no padding) encoded: setting names may hold ':',
// spaces and other characters KV keys forbid.

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func bucketKey(app string, k Kind, name string) string {
	return app + "." + k.token() + "." + enc(name)
}

func seededKey(app string) string { return app + ".seeded" }

// parsed is a bucket key taken apart.
type parsed struct {
	app    string
	kind   Kind
	name   string
	seeded bool
}

func parseKey(key string) (parsed, bool) {
	t := strings.Split(key, ".")
	if len(t) == 2 && t[1] == "seeded" && t[0] != "" {
		return parsed{app: t[0], seeded: true}, true
	}
	if len(t) != 3 || t[0] == "" || t[2] == "" {
		return parsed{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(t[2])
	if err != nil {
		return parsed{}, false
	}
	p := parsed{app: t[0], name: string(b)}
	switch t[1] {
	case "v":
		p.kind = AppSetting
	case "c":
		p.kind = ConnectionString
	default:
		return parsed{}, false
	}
	return p, true
}

// appState is one app's settings in memory.
type appState struct {
	values   map[string]string
	conns    map[string]string
	disabled map[string]bool // lower-case function names
	seeded   bool
}

func newAppState() *appState {
	return &appState{values: map[string]string{}, conns: map[string]string{}, disabled: map[string]bool{}}
}

// cache mirrors the bucket. Each change carries its KV revision; an older
// revision never overwrites a newer one, so local writes and the watch can
// race safely.
type cache struct {
	mu   sync.RWMutex
	revs map[string]uint64
	apps map[string]*appState
}

func newCache() *cache { return &cache{revs: map[string]uint64{}, apps: map[string]*appState{}} }

// change is one bucket entry: a put, or a delete when deleted is set.
type change struct {
	key     string
	value   string
	rev     uint64
	deleted bool
}

// apply records a change and returns the app whose settings changed ("" if
// none did: a stale revision, a marker, an unknown key).
func (c *cache) apply(ch change) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applyLocked(ch)
}

func (c *cache) applyLocked(ch change) string {
	if ch.rev != 0 && ch.rev <= c.revs[ch.key] {
		return ""
	}
	c.revs[ch.key] = max(ch.rev, c.revs[ch.key])
	p, ok := parseKey(ch.key)
	if !ok {
		return ""
	}
	st := c.apps[p.app]
	if st == nil {
		st = newAppState()
		c.apps[p.app] = st
	}
	if p.seeded {
		st.seeded = !ch.deleted
		return ""
	}
	m := st.values
	if p.kind == ConnectionString {
		m = st.conns
	}
	old, had := m[p.name]
	if ch.deleted {
		delete(m, p.name)
	} else {
		m[p.name] = ch.value
	}
	if p.kind == AppSetting {
		st.disabled = disabledSet(st.values)
	}
	if had == !ch.deleted && old == ch.value {
		return ""
	}
	return p.app
}

// replace swaps the cache for a snapshot and returns every app before or
// after.
func (c *cache) replace(snapshot []change) []string {
	fresh := newCache()
	for _, ch := range snapshot {
		fresh.applyLocked(ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for a := range c.apps {
		seen[a] = true
	}
	for a := range fresh.apps {
		seen[a] = true
	}
	c.revs, c.apps = fresh.revs, fresh.apps
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	return out
}

func (c *cache) snapshot(app string) Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := c.apps[app]
	if st == nil {
		return Snapshot{Values: map[string]string{}, ConnectionStrings: map[string]string{}}
	}
	return Snapshot{Values: maps.Clone(st.values), ConnectionStrings: maps.Clone(st.conns)}
}

func (c *cache) get(app string, k Kind, name string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := c.apps[app]
	if st == nil {
		return "", false
	}
	if k == ConnectionString {
		v, ok := st.conns[name]
		return v, ok
	}
	v, ok := st.values[name]
	return v, ok
}

func (c *cache) isSeeded(app string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.apps[app] != nil && c.apps[app].seeded
}

func (c *cache) isDisabled(app, function string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := c.apps[app]
	return st != nil && st.disabled[strings.ToLower(function)]
}

// liveKeys lists the bucket keys of an app.
func (c *cache) liveKeys(app string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st := c.apps[app]
	if st == nil {
		return nil
	}
	var out []string
	for n := range st.values {
		out = append(out, bucketKey(app, AppSetting, n))
	}
	for n := range st.conns {
		out = append(out, bucketKey(app, ConnectionString, n))
	}
	if st.seeded {
		out = append(out, seededKey(app))
	}
	return out
}

// disabledSet finds AzureWebJobs.<fn>.Disabled and AzureWebJobs_<fn>_Disabled
// settings with a true value ("true" in any case, or "1"). Names compare
// case-insensitively, as the host's configuration does.
func disabledSet(values map[string]string) map[string]bool {
	out := map[string]bool{}
	for name, v := range values {
		if !strings.EqualFold(v, "true") && v != "1" {
			continue
		}
		if fn, ok := disabledFunction(name); ok {
			out[strings.ToLower(fn)] = true
		}
	}
	return out
}

func disabledFunction(name string) (string, bool) {
	const prefix, suffix = "azurewebjobs", "disabled"
	n := len(name)
	if n <= len(prefix)+len(suffix)+2 || !strings.EqualFold(name[:len(prefix)], prefix) || !strings.EqualFold(name[n-len(suffix):], suffix) {
		return "", false
	}
	sep := name[len(prefix)]
	if (sep != '.' && sep != '_') || name[n-len(suffix)-1] != sep {
		return "", false
	}
	return name[len(prefix)+1 : n-len(suffix)-1], true
}
