package region

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/settings"
)

// keyServices are the stores that hold secrets and configuration: keys
// (with the region's master key) and app settings.
type keyServices struct {
	master   string
	keys     *keys.Store
	settings *settings.Store

	mu   sync.Mutex
	subs map[string][]func() // app -> settings change callbacks
}

func (k *keyServices) start(ctx context.Context, r *Region) error {
	master, path, created, err := keys.LoadMaster(r.opts.DataDir, r.opts.MasterKeyEnv)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if created {
		r.log.Info("master key created", "path", path)
	} else {
		r.log.Info("master key loaded", "path", path)
	}
	k.master = master
	if k.keys, err = keys.New(keys.Options{Broker: r.broker, Master: master, MasterPath: path, Apps: r.Apps, Clock: r.opts.Clock, Logger: r.log}); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := k.keys.Start(ctx); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if k.settings, err = settings.New(settings.Options{Broker: r.broker, Logger: r.log}); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := k.settings.Start(ctx); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	k.subs = map[string][]func(){}
	k.settings.Subscribe(k.changed)
	return nil
}

func (k *keyServices) shutdown(ctx context.Context) error {
	var errs []error
	if k.settings != nil {
		errs = append(errs, k.settings.Shutdown(ctx))
	}
	if k.keys != nil {
		errs = append(errs, k.keys.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// prepare seeds settings from local.settings.json (first load only) and
// creates the default keys.
func (k *keyServices) prepare(ctx context.Context, app *funcapp.App) error {
	if _, err := k.settings.Seed(ctx, app.Name, app.Settings.Values, app.Settings.ConnectionStrings); err != nil {
		return fmt.Errorf("seed settings: %w", err)
	}
	if err := k.keys.EnsureDefaults(ctx, app.Name, app.FunctionNames()); err != nil {
		return fmt.Errorf("default keys: %w", err)
	}
	return nil
}

func (k *keyServices) registerAdmin(mux *http.ServeMux) {
	k.keys.RegisterAdmin(mux)
	k.settings.RegisterAdmin(mux)
}

func (k *keyServices) changed(app string) {
	k.mu.Lock()
	fns := append([]func(){}, k.subs[app]...)
	k.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// onSettingsChange calls f after every change of app's settings.
func (s *services) onSettingsChange(app string, f func()) (cancel func()) {
	k := &s.keyed
	k.mu.Lock()
	defer k.mu.Unlock()
	k.subs[app] = append(k.subs[app], f)
	i := len(k.subs[app]) - 1
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.subs[app][i] = func() {}
	}
}

func (s *services) settings(app string) settings.Snapshot { return s.keyed.settings.Get(app) }

// settingsFor is the app settings a new version of app will run with: the
// stored ones, or, before the app was ever seeded, its local.settings.json.
func (s *services) settingsFor(app *funcapp.App) map[string]string {
	if s.keyed.settings.Seeded(app.Name) {
		return s.settings(app.Name).Values
	}
	return app.Settings.Values
}

func (s *services) disabled(app, function string) bool {
	return s.keyed.settings.Disabled(app, function)
}

func (s *services) isMaster(r *http.Request) bool { return s.keyed.keys.IsMaster(keys.Presented(r)) }

// authorizer maps the keys store to the gateway's levels.
func (s *services) authorizer() gateway.Authorizer { return keyAuth{s.keyed.keys} }

type keyAuth struct{ k *keys.Store }

// Authorize applies the Azure host's rule (keys.Level.Satisfies).
func (a keyAuth) Authorize(app, function, authLevel string, r *http.Request) (bool, bool) {
	required, err := keys.ParseLevel(authLevel)
	if err != nil {
		required = keys.Admin // funcapp validated it; fail closed anyway
	}
	got := a.k.Authorize(app, function, keys.Presented(r))
	return got.Satisfies(required), got == keys.Admin
}
