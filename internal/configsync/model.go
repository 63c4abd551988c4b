package configsync

import (
	"sort"
	"time"
)

// Prefix marks a key copied from the primary: key x is written as Prefix+x.
const Prefix = "HA-"

// Class says what a change is about.
type Class string

// The classes of replicated items.
const (
	ClassSetting          Class = "setting"
	ClassConnectionString Class = "connectionstring"
	ClassHostKey          Class = "hostkey"
	ClassSystemKey        Class = "systemkey"
	ClassFunctionKey      Class = "functionkey"
)

// IsKey reports whether the class is a key class.
func (c Class) IsKey() bool {
	return c == ClassHostKey || c == ClassSystemKey || c == ClassFunctionKey
}

// Kind is what the rules decided for one item.
type Kind string

// The kinds of a plan's changes. Only Add and Modify are applied; the others
// are reports.
const (
	Add           Kind = "add"
	Modify        Kind = "modify"
	Orphan        Kind = "orphan"         // only in the secondary; kept
	Excluded      Kind = "excluded"       // region-local name; not copied
	Collision     Kind = "collision"      // HA-x is the secondary's own key; skipped
	SourceDeleted Kind = "source-deleted" // HA-x whose source x is gone; kept
	Skipped       Kind = "skipped"        // cannot be copied (see Reason)
)

// Applies reports whether a change of this kind is written to the secondary.
func (k Kind) Applies() bool { return k == Add || k == Modify }

// Change is one difference between the primary and a secondary. It never
// carries a value outside the process: value is unexported and not
// serialized.
type Change struct {
	App      string `json:"app"`
	Class    Class  `json:"class"`
	Function string `json:"function,omitempty"` // function keys
	Name     string `json:"name"`               // name in the secondary
	Kind     Kind   `json:"kind"`
	Reason   string `json:"reason,omitempty"`
	Applied  bool   `json:"applied,omitempty"`
	Error    string `json:"error,omitempty"`

	value string
}

// SourceName is the item's name in the primary (x for a key HA-x).
func (c Change) SourceName() string {
	if c.Class.IsKey() && len(c.Name) > len(Prefix) && c.Name[:len(Prefix)] == Prefix {
		return c.Name[len(Prefix):]
	}
	return c.Name
}

// AppConfig is one app's replicated configuration in one region.
type AppConfig struct {
	Values            map[string]string            `json:"values,omitempty"`
	ConnectionStrings map[string]string            `json:"connectionStrings,omitempty"`
	HostKeys          map[string]string            `json:"hostKeys,omitempty"`
	SystemKeys        map[string]string            `json:"systemKeys,omitempty"`
	FunctionKeys      map[string]map[string]string `json:"functionKeys,omitempty"`
	// Replicas names the keys this region holds as copies of another
	// region's keys (written by this package).
	Replicas []Ref `json:"replicas,omitempty"`
}

// Ref names one key of an app: its class, function (function keys) and name.
type Ref struct {
	Class    Class  `json:"class"`
	Function string `json:"function,omitempty"`
	Name     string `json:"name"`
}

// Snapshot is every app's configuration in one region.
type Snapshot struct {
	Region string                `json:"region"`
	Apps   map[string]*AppConfig `json:"apps"`
}

// Plan is what syncing a secondary from a primary does.
type Plan struct {
	Region    string    `json:"region"` // the secondary
	Source    string    `json:"source"` // the primary
	Exclude   []string  `json:"exclude"`
	Changes   []Change  `json:"changes"`
	Unchanged int       `json:"unchanged"`
	At        time.Time `json:"at"`
}

// Count returns how many changes are of kind k.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind == k {
			n++
		}
	}
	return n
}

func newAppConfig() *AppConfig {
	return &AppConfig{Values: map[string]string{}, ConnectionStrings: map[string]string{},
		HostKeys: map[string]string{}, SystemKeys: map[string]string{}, FunctionKeys: map[string]map[string]string{}}
}

// keys returns the map of one key scope, creating a function's map when
// create is set (nil otherwise).
func (a *AppConfig) keys(class Class, fn string, create bool) map[string]string {
	switch class {
	case ClassHostKey:
		return a.HostKeys
	case ClassSystemKey:
		return a.SystemKeys
	case ClassFunctionKey:
		m := a.FunctionKeys[fn]
		if m == nil && create {
			if a.FunctionKeys == nil {
				a.FunctionKeys = map[string]map[string]string{}
			}
			m = map[string]string{}
			a.FunctionKeys[fn] = m
		}
		return m
	case ClassConnectionString:
		return a.ConnectionStrings
	}
	return a.Values
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
