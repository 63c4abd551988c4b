package keys

import (
	"crypto/subtle"
	"encoding/base64"
	"sort"
	"strings"
	"sync"
)

// Bucket layout (one KV bucket per region, b.Name("keys")):
//
//	<app>.h.<name>         host function key
//	<app>.s.<name>         host system key
//	<app>.f.<fn>.<name>    a function's own key
//	<app>.init.h           defaults created for the host scope
//	<app>.init.f.<fn>      defaults created for a function
//
// Key and function names are base64url (no padding) encoded, since they
// may hold characters KV keys forbid.

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func dec(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err == nil && s != ""
}

// scopeID names a scope inside one app: "h", "s" or "f/<function>".
func (sc Scope) id() string {
	switch sc.Kind {
	case HostFunctionKeys:
		return "h"
	case HostSystemKeys:
		return "s"
	}
	return "f/" + sc.Function
}

func (sc Scope) token() string {
	if sc.Kind == FunctionKeys {
		return "f." + enc(sc.Function)
	}
	return sc.id()
}

func kvKey(app string, sc Scope, name string) string {
	return app + "." + sc.token() + "." + enc(name)
}

func markerKey(app string, sc Scope) string { return app + ".init." + sc.token() }

// parsed is a bucket key taken apart.
type parsed struct {
	app, scope, name string
	marker           bool
}

func parseKey(k string) (parsed, bool) {
	t := strings.Split(k, ".")
	if len(t) < 3 {
		return parsed{}, false
	}
	p := parsed{app: t[0]}
	if t[1] == "init" {
		p.marker = true
		t = t[1:]
	}
	var ok bool
	switch {
	case (t[1] == "h" || t[1] == "s") && len(t) == 3:
		p.scope = t[1]
		p.name, ok = dec(t[2])
	case t[1] == "f" && len(t) == 4:
		var fn string
		fn, ok = dec(t[2])
		p.scope = "f/" + fn
		if n, good := dec(t[3]); ok && good {
			p.name = n
		} else {
			ok = false
		}
	}
	if p.marker {
		return p, p.app != "" && (t[1] == "h" && len(t) == 2 || t[1] == "f" && len(t) == 3)
	}
	return p, ok && p.app != ""
}

type secret struct {
	s string
	b []byte
}

// cache mirrors the bucket in memory so authorization never leaves the
// process. Every change carries its KV revision; an older revision never
// overwrites a newer one, so local writes and the watch can race safely.
type cache struct {
	mu    sync.RWMutex
	revs  map[string]uint64
	data  map[string]map[string]map[string]secret // app -> scope id -> name -> value
	marks map[string]bool
}

func newCache() *cache {
	return &cache{revs: map[string]uint64{}, data: map[string]map[string]map[string]secret{}, marks: map[string]bool{}}
}

// change is one bucket entry, a put or (deleted) a delete.
type change struct {
	key     string
	value   string
	rev     uint64
	deleted bool
}

func (c *cache) apply(ch change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyLocked(ch)
}

// replace swaps the whole cache for a snapshot (a fresh watch).
func (c *cache) replace(snapshot []change) {
	fresh := newCache()
	for _, ch := range snapshot {
		fresh.applyLocked(ch)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revs, c.data, c.marks = fresh.revs, fresh.data, fresh.marks
}

func (c *cache) applyLocked(ch change) {
	if ch.rev != 0 && ch.rev <= c.revs[ch.key] {
		return
	}
	c.revs[ch.key] = max(ch.rev, c.revs[ch.key])
	p, ok := parseKey(ch.key)
	if !ok {
		return
	}
	if p.marker {
		c.marks[ch.key] = !ch.deleted
		return
	}
	scopes := c.data[p.app]
	if ch.deleted {
		delete(scopes[p.scope], p.name)
		return
	}
	if scopes == nil {
		scopes = map[string]map[string]secret{}
		c.data[p.app] = scopes
	}
	if scopes[p.scope] == nil {
		scopes[p.scope] = map[string]secret{}
	}
	scopes[p.scope][p.name] = secret{s: ch.value, b: []byte(ch.value)}
}

func (c *cache) get(app string, sc Scope, name string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.data[app][sc.id()][name]
	return v.s, ok
}

func (c *cache) list(app string, sc Scope) []Key {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Key, 0, len(c.data[app][sc.id()]))
	for n, v := range c.data[app][sc.id()] {
		out = append(out, Key{Name: n, Value: v.s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *cache) marked(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.marks[key]
}

// liveKeys returns the bucket keys of an app's keys and markers.
func (c *cache) liveKeys(app string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for scope, names := range c.data[app] {
		sc := scopeFromID(scope)
		for n := range names {
			out = append(out, kvKey(app, sc, n))
		}
	}
	for k, live := range c.marks {
		if live && strings.HasPrefix(k, app+".") {
			out = append(out, k)
		}
	}
	return out
}

func scopeFromID(id string) Scope {
	switch id {
	case "h":
		return HostScope()
	case "s":
		return SystemScope()
	}
	return FunctionScope(strings.TrimPrefix(id, "f/"))
}

// match finds the key equal to presented in one scope, comparing every
// candidate in constant time.
func (c *cache) match(app, scope string, presented []byte) (string, bool) {
	name, found := "", false
	for n, v := range c.data[app][scope] {
		if subtle.ConstantTimeCompare(v.b, presented) == 1 && !found {
			name, found = n, true
		}
	}
	return name, found
}
