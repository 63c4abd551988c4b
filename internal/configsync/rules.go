package configsync

import (
	"slices"
	"sort"
	"strings"
)

// maxKeyName is the longest key name the keys store accepts.
const maxKeyName = 256

// Diff applies the rules to one app: src is the primary's configuration,
// dst the secondary's (its Replicas say which of its HA- keys it holds as
// copies). It returns the changes in a stable order and how many items
// were already equal. It is pure: Engine reads the states and writes.
func Diff(app string, src, dst *AppConfig, ex Exclude) ([]Change, int) {
	if src == nil {
		src = &AppConfig{}
	}
	if dst == nil {
		dst = &AppConfig{}
	}
	d := differ{app: app, ex: ex, owned: refSet(dst.Replicas), srcReplicas: refSet(src.Replicas)}
	d.settings(ClassSetting, src.Values, dst.Values)
	d.settings(ClassConnectionString, src.ConnectionStrings, dst.ConnectionStrings)
	d.keys(ClassHostKey, "", src.HostKeys, dst.HostKeys)
	d.keys(ClassSystemKey, "", src.SystemKeys, dst.SystemKeys)
	for _, fn := range functionNames(src, dst) {
		d.keys(ClassFunctionKey, fn, src.FunctionKeys[fn], dst.FunctionKeys[fn])
	}
	return d.out, d.unchanged
}

type differ struct {
	app         string
	ex          Exclude
	owned       map[Ref]bool
	srcReplicas map[Ref]bool
	out         []Change
	unchanged   int
}

func (d *differ) add(c Class, fn, name string, k Kind, value, reason string) {
	d.out = append(d.out, Change{App: d.app, Class: c, Function: fn, Name: name, Kind: k, Reason: reason, value: value})
}

// settings: add and modify, never delete; secondary-only names are orphans;
// excluded names are reported and never copied.
func (d *differ) settings(c Class, src, dst map[string]string) {
	for _, name := range sortedNames(src) {
		v := src[name]
		cur, has := dst[name]
		switch {
		case d.ex.Match(name):
			d.add(c, "", name, Excluded, "", "matches an exclusion pattern (region-local)")
		case !has:
			d.add(c, "", name, Add, v, "")
		case cur != v:
			d.add(c, "", name, Modify, v, "")
		default:
			d.unchanged++
		}
	}
	for _, name := range sortedNames(dst) {
		if _, ok := src[name]; !ok && !d.ex.Match(name) {
			d.add(c, "", name, Orphan, "", "only in the secondary; never deleted")
		}
	}
}

// keys: the primary's key x becomes HA-x in the same scope, when absent or
// different, unless HA-x is the secondary's own key. Replicas held by the
// primary are not copied on.
func (d *differ) keys(c Class, fn string, src, dst map[string]string) {
	for _, name := range sortedNames(src) {
		if d.srcReplicas[Ref{Class: c, Function: fn, Name: name}] {
			continue
		}
		d.key(c, fn, Prefix+name, src[name], dst)
	}
	for _, name := range sortedNames(dst) {
		x, isCopy := strings.CutPrefix(name, Prefix)
		if !isCopy || !d.owned[Ref{Class: c, Function: fn, Name: name}] {
			continue // the secondary's own key
		}
		if _, ok := src[x]; !ok {
			d.add(c, fn, name, SourceDeleted, "", "the source key "+x+" is gone from the primary; kept")
		}
	}
}

func (d *differ) key(c Class, fn, target, v string, dst map[string]string) {
	cur, has := dst[target]
	switch {
	case len(target) > maxKeyName:
		d.add(c, fn, target, Skipped, "", "the name would exceed 256 bytes")
	case !has:
		d.add(c, fn, target, Add, v, "")
	case !d.owned[Ref{Class: c, Function: fn, Name: target}]:
		d.add(c, fn, target, Collision, "", "the secondary has its own key of this name; not overwritten")
	case cur != v:
		d.add(c, fn, target, Modify, v, "")
	default:
		d.unchanged++
	}
}

func refSet(refs []Ref) map[Ref]bool {
	m := make(map[Ref]bool, len(refs))
	for _, r := range refs {
		m[r] = true
	}
	return m
}

// functionNames lists the functions with keys on either side.
func functionNames(src, dst *AppConfig) []string {
	var out []string
	for fn := range src.FunctionKeys {
		out = append(out, fn)
	}
	for fn := range dst.FunctionKeys {
		if _, ok := src.FunctionKeys[fn]; !ok {
			out = append(out, fn)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
