package configsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// How a change was triggered, for the audit log.
const (
	byContinuous = "continuous"
	byAPI        = "api"
)

// ErrSameRegion is returned for a plan whose source is the region itself.
var ErrSameRegion = errors.New("the source is this region: sync a secondary from the primary")

// Plan computes what syncing this region from src would change, without
// writing. exclude nil means the stored patterns (or Options.Exclude).
func (s *Syncer) Plan(ctx context.Context, src *Snapshot, exclude []string) (*Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plan(ctx, src, exclude)
}

// Apply plans, then writes every add and modify (settings through the
// settings store, keys as HA- keys through the keys store) and records each
// in the audit log. Non-nil exclude patterns are stored first, so the
// continuous mode uses them from then on. The plan's changes say which were
// applied; the error joins the failures.
func (s *Syncer) Apply(ctx context.Context, src *Snapshot, exclude []string) (*Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exclude != nil {
		if err := s.setExclude(ctx, exclude); err != nil {
			return nil, err
		}
	}
	p, err := s.plan(ctx, src, nil)
	if err != nil {
		return nil, err
	}
	return p, s.applyPlan(ctx, p, byAPI)
}

func (s *Syncer) plan(ctx context.Context, src *Snapshot, exclude []string) (*Plan, error) {
	if src == nil || src.Region == "" {
		return nil, errors.New("plan: the source snapshot names no region")
	}
	if src.Region == s.region {
		return nil, fmt.Errorf("plan: %w (source %s)", ErrSameRegion, src.Region)
	}
	ex, err := s.resolveExclude(ctx, exclude)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p := &Plan{Region: s.region, Source: src.Region, Exclude: ex.Patterns(), At: s.opts.Clock.Now()}
	for _, app := range sortedNames(src.Apps) {
		if err := s.planApp(ctx, p, app, src.Apps[app], ex); err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
	}
	return p, nil
}

func (s *Syncer) planApp(ctx context.Context, p *Plan, app string, src *AppConfig, ex Exclude) error {
	if !appName.MatchString(app) {
		return fmt.Errorf("app name %q: use letters, digits and '-'", app)
	}
	dst, err := s.local(ctx, app, src)
	if err != nil {
		return err
	}
	changes, same := Diff(app, src, dst, ex)
	p.Changes = append(p.Changes, changes...)
	p.Unchanged += same
	return nil
}

// local reads this region's configuration of app: settings and keys from
// the stores' memory, replicas from the sync bucket.
func (s *Syncer) local(ctx context.Context, app string, src *AppConfig) (*AppConfig, error) {
	owned, err := s.owned(ctx, app)
	if err != nil {
		return nil, err
	}
	snap := s.opts.Settings.Get(app)
	k := s.opts.Keys
	dst := &AppConfig{Values: snap.Values, ConnectionStrings: snap.ConnectionStrings,
		HostKeys: keyMap(k.List(app, keys.HostScope())), SystemKeys: keyMap(k.List(app, keys.SystemScope())),
		FunctionKeys: map[string]map[string]string{}, Replicas: owned}
	fns := map[string]bool{}
	for fn := range src.FunctionKeys {
		fns[fn] = true
	}
	for _, r := range owned {
		if r.Class == ClassFunctionKey {
			fns[r.Function] = true
		}
	}
	for fn := range fns {
		dst.FunctionKeys[fn] = keyMap(k.List(app, keys.FunctionScope(fn)))
	}
	return dst, nil
}

func keyMap(list []keys.Key) map[string]string {
	m := make(map[string]string, len(list))
	for _, k := range list {
		m[k.Name] = k.Value
	}
	return m
}

// applyPlan writes the plan's adds and modifies in order.
func (s *Syncer) applyPlan(ctx context.Context, p *Plan, by string) error {
	var errs []error
	for i := range p.Changes {
		c := &p.Changes[i]
		if !c.Kind.Applies() {
			continue
		}
		if err := s.write(ctx, p.Source, c); err != nil {
			c.Error = err.Error()
			errs = append(errs, err)
			continue
		}
		c.Applied = true
		s.metrics.applied.WithLabelValues(string(c.Kind), string(c.Class)).Inc()
		if err := s.audit.record(ctx, s.auditEntry(p, c, by)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// write stores one change. A key is recorded as a replica before it is
// written, so a crash in between leaves a replica to re-add, never an
// HA- key mistaken for the secondary's own.
func (s *Syncer) write(ctx context.Context, source string, c *Change) error {
	switch c.Class {
	case ClassSetting, ClassConnectionString:
		kind := settings.AppSetting
		if c.Class == ClassConnectionString {
			kind = settings.ConnectionString
		}
		if _, err := s.opts.Settings.Put(ctx, c.App, kind, c.Name, c.value); err != nil {
			return fmt.Errorf("apply %s %s of app %s: %w", c.Kind, c.Class, c.App, err)
		}
		return nil
	}
	ref := Ref{Class: c.Class, Function: c.Function, Name: c.Name}
	if err := s.markOwned(ctx, c.App, ref, source); err != nil {
		return fmt.Errorf("apply %s %s %q of app %s: %w", c.Kind, c.Class, c.Name, c.App, err)
	}
	if _, _, err := s.opts.Keys.Set(ctx, c.App, scopeOf(ref), c.Name, c.value); err != nil {
		return fmt.Errorf("apply %s %s %q of app %s: %w", c.Kind, c.Class, c.Name, c.App, err)
	}
	return nil
}

func scopeOf(r Ref) keys.Scope {
	switch r.Class {
	case ClassSystemKey:
		return keys.SystemScope()
	case ClassFunctionKey:
		return keys.FunctionScope(r.Function)
	}
	return keys.HostScope()
}

func (s *Syncer) auditEntry(p *Plan, c *Change, by string) AuditEntry {
	return AuditEntry{Time: s.opts.Clock.Now().UTC(), Region: p.Region, Source: p.Source, App: c.App,
		Class: c.Class, Function: c.Function, Name: c.Name, Kind: c.Kind, By: by}
}

// Snapshot reads this region's own configuration (every app, or only app),
// as the CLI's source when this region is the primary.
func (s *Syncer) Snapshot(ctx context.Context, app string) (*Snapshot, error) {
	snap, err := ReadSnapshot(ctx, s.opts.Broker.JetStream(), s.region)
	if err != nil {
		return nil, err
	}
	return snap.Only(app), nil
}

// Only returns a copy of snap limited to app (all apps when app is "").
func (snap *Snapshot) Only(app string) *Snapshot {
	out := &Snapshot{Region: snap.Region, Apps: map[string]*AppConfig{}}
	for name, a := range snap.Apps {
		if app == "" || name == app {
			out.Apps[name] = a
		}
	}
	return out
}
