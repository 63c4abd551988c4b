package configsync

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// engineEnv is a secondary (west, with a Syncer) and a primary's stores
// (east's buckets) on one broker: the rules read east's snapshot from its
// buckets exactly as across a leafnode.
type engineEnv struct{ east, west *node }

func newEngineEnv(t *testing.T) *engineEnv {
	b := startBroker(t, "west", false)
	return &engineEnv{east: startStores(t, b, "east"), west: startNode(t, b, nil)}
}

func (e *engineEnv) source(t *testing.T, app string) *Snapshot {
	t.Helper()
	snap, err := ReadSnapshot(testCtx(t), e.west.b.JetStream(), "east")
	if err != nil {
		t.Fatal(err)
	}
	return snap.Only(app)
}

func (e *engineEnv) apply(t *testing.T, app string, exclude []string) *Plan {
	t.Helper()
	p, err := e.west.sync.Apply(testCtx(t), e.source(t, app), exclude)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// secret values the cases use; none may reach the audit log.
const (
	hostKeyP = "host-key-of-the-primary-0001"
	fnKeyP   = "function-key-of-the-primary-0001"
	sysKeyP  = "system-key-of-the-primary-0001"
)

func TestApplyRules(t *testing.T) {
	env := newEngineEnv(t)
	host, sys, hello := keys.HostScope(), keys.SystemScope(), keys.FunctionScope("hello")
	cases := []struct {
		name      string
		primary   func(t *testing.T, e *node, app string)
		secondary func(t *testing.T, w *node, app string)
		exclude   []string
		want      []string
		check     func(t *testing.T, w *node, app string)
	}{
		{name: "add", primary: func(t *testing.T, e *node, app string) { mustPut(t, e, app, settings.AppSetting, "A", "1") },
			want: []string{"add setting A"}, check: wantSetting(settings.AppSetting, "A", "1")},
		{name: "modify",
			primary:   func(t *testing.T, e *node, app string) { mustPut(t, e, app, settings.ConnectionString, "Db", "new") },
			secondary: func(t *testing.T, w *node, app string) { mustPut(t, w, app, settings.ConnectionString, "Db", "old") },
			want:      []string{"modify connectionstring Db"}, check: wantSetting(settings.ConnectionString, "Db", "new")},
		{name: "unchanged",
			primary:   func(t *testing.T, e *node, app string) { mustPut(t, e, app, settings.AppSetting, "A", "1") },
			secondary: func(t *testing.T, w *node, app string) { mustPut(t, w, app, settings.AppSetting, "A", "1") }},
		{name: "deleted in primary: orphan, kept",
			primary: func(t *testing.T, e *node, app string) {
				mustPut(t, e, app, settings.AppSetting, "KEEP", "k")
				mustPut(t, e, app, settings.AppSetting, "B", "2")
				env.apply(t, app, nil)
				if _, err := e.settings.Delete(testCtx(t), app, settings.AppSetting, "B"); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"orphan setting B"}, check: wantSetting(settings.AppSetting, "B", "2")},
		{name: "orphan in secondary",
			primary:   func(t *testing.T, e *node, app string) { mustPut(t, e, app, settings.AppSetting, "A", "1") },
			secondary: func(t *testing.T, w *node, app string) { mustPut(t, w, app, settings.AppSetting, "LOCAL", "x") },
			want:      []string{"add setting A", "orphan setting LOCAL"}, check: wantSetting(settings.AppSetting, "LOCAL", "x")},
		{name: "excluded pattern",
			primary:   func(t *testing.T, e *node, app string) { mustPut(t, e, app, settings.AppSetting, "SITE_NAME", "east") },
			secondary: func(t *testing.T, w *node, app string) { mustPut(t, w, app, settings.AppSetting, "SITE_NAME", "west") },
			exclude:   []string{"SITE_*"}, want: []string{"excluded setting SITE_NAME"}, check: wantSetting(settings.AppSetting, "SITE_NAME", "west")},
		{name: "HA- name colliding with a secondary key",
			primary: func(t *testing.T, e *node, app string) { mustSetKey(t, e, app, host, "default", hostKeyP) },
			secondary: func(t *testing.T, w *node, app string) {
				mustSetKey(t, w, app, host, "HA-default", "the-secondary-own-key")
			},
			want: []string{"collision hostkey HA-default"},
			check: func(t *testing.T, w *node, app string) {
				if v := keyOf(t, w, app, host, "HA-default"); v != "the-secondary-own-key" {
					t.Fatal("the secondary's own HA-default was overwritten")
				}
				wantLevel(t, w, app, "hello", hostKeyP, keys.Anonymous)
			}},
		{name: "authentication with replicated keys at function, host and system level",
			primary: func(t *testing.T, e *node, app string) {
				mustSetKey(t, e, app, host, "default", hostKeyP)
				mustSetKey(t, e, app, sys, "ext", sysKeyP)
				mustSetKey(t, e, app, hello, "default", fnKeyP)
			},
			secondary: func(t *testing.T, w *node, app string) { mustSetKey(t, w, app, host, "default", "secondary-host-key") },
			want:      []string{"add hostkey HA-default", "add systemkey HA-ext", "add functionkey hello/HA-default"},
			check: func(t *testing.T, w *node, app string) {
				wantLevel(t, w, app, "hello", fnKeyP, keys.Function)
				wantLevel(t, w, app, "other", fnKeyP, keys.Anonymous) // a function key opens its function only
				wantLevel(t, w, app, "other", hostKeyP, keys.Function)
				wantLevel(t, w, app, "", sysKeyP, keys.System)
				wantLevel(t, w, app, "hello", "secondary-host-key", keys.Function)
			}},
		{name: "key modified in primary",
			primary: func(t *testing.T, e *node, app string) {
				mustSetKey(t, e, app, hello, "default", fnKeyP)
				env.apply(t, app, nil)
				mustSetKey(t, e, app, hello, "default", "rotated-function-key-0002")
			},
			want: []string{"modify functionkey hello/HA-default"},
			check: func(t *testing.T, w *node, app string) {
				wantLevel(t, w, app, "hello", "rotated-function-key-0002", keys.Function)
				wantLevel(t, w, app, "hello", fnKeyP, keys.Anonymous)
			}},
		{name: "key deleted in primary: reported, kept",
			primary: func(t *testing.T, e *node, app string) {
				mustSetKey(t, e, app, host, "old", hostKeyP)
				mustSetKey(t, e, app, host, "default", "still-here-key")
				env.apply(t, app, nil)
				if _, err := e.keys.Delete(testCtx(t), app, host, "old"); err != nil {
					t.Fatal(err)
				}
			},
			want:  []string{"source-deleted hostkey HA-old"},
			check: func(t *testing.T, w *node, app string) { wantLevel(t, w, app, "f", hostKeyP, keys.Function) }},
		{name: "master key untouched",
			primary: func(t *testing.T, e *node, app string) { mustSetKey(t, e, app, sys, "ext", sysKeyP) },
			want:    []string{"add systemkey HA-ext"},
			check: func(t *testing.T, w *node, app string) {
				if w.keys.Master() != "master-of-west" {
					t.Fatal("the secondary's master key changed")
				}
				wantLevel(t, w, app, "", "master-of-east", keys.Anonymous)
				wantLevel(t, w, app, "", "master-of-west", keys.Admin)
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fmt.Sprintf("app%d", i)
			if tc.secondary != nil {
				tc.secondary(t, env.west, app)
			}
			tc.primary(t, env.east, app)
			before := auditCount(t, env.west, app)
			p := env.apply(t, app, tc.exclude)
			if got := lines(p.Changes); !slices.Equal(got, tc.want) {
				t.Fatalf("plan:\n got %q\nwant %q", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, env.west, app)
			}
			checkAudit(t, env.west, app, p, before)
			if again := env.apply(t, app, tc.exclude); again.Count(Add)+again.Count(Modify) != 0 {
				t.Fatalf("second apply still changes: %q", lines(again.Changes))
			}
		})
	}
}

func wantSetting(k settings.Kind, name, value string) func(*testing.T, *node, string) {
	return func(t *testing.T, w *node, app string) {
		t.Helper()
		if v, ok := w.settings.Value(app, k, name); !ok || v != value {
			t.Fatalf("secondary %s %s = %q (present %v), want %q", k, name, v, ok, value)
		}
	}
}

func wantLevel(t *testing.T, w *node, app, fn, key string, want keys.Level) {
	t.Helper()
	if got := w.keys.Authorize(app, fn, key); got != want {
		t.Fatalf("Authorize(%s, %q) in the secondary = %v, want %v", app, fn, got, want)
	}
}

func auditCount(t *testing.T, n *node, app string) int {
	t.Helper()
	entries, err := n.sync.Audit(testCtx(t), AuditQuery{App: app, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// checkAudit: one entry per applied change of this apply, no values.
func checkAudit(t *testing.T, n *node, app string, p *Plan, before int) {
	t.Helper()
	entries, err := n.sync.Audit(testCtx(t), AuditQuery{App: app, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, c := range p.Changes {
		if c.Applied {
			want = append(want, string(c.Kind)+" "+c.Name)
		}
	}
	for _, e := range entries[before:] {
		got = append(got, string(e.Kind)+" "+e.Name)
		if e.App != app || e.Source != "east" || e.Region != "west" || e.By != byAPI || e.Time.IsZero() {
			t.Fatalf("audit entry %+v", e)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("audit:\n got %q\nwant %q", got, want)
	}
	raw, _ := json.Marshal(entries)
	for _, secret := range []string{hostKeyP, fnKeyP, sysKeyP, "rotated-function-key-0002"} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("the audit log holds a key value")
		}
	}
}

func TestPlanWritesNothing(t *testing.T) {
	env := newEngineEnv(t)
	mustPut(t, env.east, "shop", settings.AppSetting, "A", "1")
	mustSetKey(t, env.east, "shop", keys.HostScope(), "default", hostKeyP)
	p, err := env.west.sync.Plan(testCtx(t), env.source(t, "shop"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(p.Changes); !slices.Equal(got, []string{"add setting A", "add hostkey HA-default"}) {
		t.Fatalf("plan %q", got)
	}
	if _, ok := env.west.settings.Value("shop", settings.AppSetting, "A"); ok {
		t.Fatal("plan wrote a setting")
	}
	if n := auditCount(t, env.west, "shop"); n != 0 {
		t.Fatalf("plan wrote %d audit entries", n)
	}
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), hostKeyP) {
		t.Fatal("a serialized plan holds a key value")
	}
	if _, err := env.west.sync.Plan(testCtx(t), &Snapshot{Region: "west"}, nil); err == nil {
		t.Fatal("a plan from the region itself was accepted")
	}
}

func TestApplyStoresExclusionPatterns(t *testing.T) {
	env := newEngineEnv(t)
	ctx := testCtx(t)
	if got, _ := env.west.sync.Exclude(ctx); !slices.Equal(got, DefaultExclude) {
		t.Fatalf("default patterns %q", got)
	}
	mustPut(t, env.east, "shop", settings.AppSetting, "LOCAL_X", "east")
	env.apply(t, "shop", []string{"LOCAL_*"})
	if got, _ := env.west.sync.Exclude(ctx); !slices.Equal(got, []string{"LOCAL_*"}) {
		t.Fatalf("stored patterns %q", got)
	}
	p, err := env.west.sync.Plan(ctx, env.source(t, "shop"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(p.Changes); !slices.Equal(got, []string{"excluded setting LOCAL_X"}) {
		t.Fatalf("plan with the stored patterns: %q", got)
	}
}
