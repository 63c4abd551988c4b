package region

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/host"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/queue"
)

// appRuntime is a loaded app with its handler pool and triggers.
type appRuntime struct {
	mu      sync.Mutex // serializes trigger restarts
	stopped bool
	// live: the triggers belong to this version (set by handOver); until
	// then a settings change leaves them alone (they start with the
	// settings current at hand-over).
	live bool
	// triggers are timers; listeners are queue listeners (they follow the
	// region's role). Both guarded by mu.
	listeners []stopper
	app       *funcapp.App
	routes    *gateway.Routes
	pool      *host.Pool
	inv       *invoke.Invoker
	triggers  []stopper
	unsub     func()
}

// stopper is a running trigger (a queue listener, a timer).
type stopper interface {
	Stop(ctx context.Context) error
}

// LoadApp loads an app folder and serves it. Loading is transactional: the
// new version is built and checked beside the one serving (routes, timer
// schedules, queue settings, binding declarations), its triggers take over
// from the old version's, and only then does the gateway route to it; the
// old version's handlers drain. On any failure the old version keeps
// serving, untouched (its triggers restarted if they had been handed over).
func (r *Region) LoadApp(ctx context.Context, spec AppSpec) error {
	app, err := funcapp.Load(spec.Name, spec.Dir)
	if err != nil {
		return err
	}
	for _, w := range app.Warnings {
		r.log.Warn(w, "app", app.Name)
	}
	for _, fe := range app.Errors { // in error; the app's other functions run
		r.log.Error("function cannot load", "app", app.Name, "function", fe.Name, "err", fe.Err)
	}
	routes, err := r.checkApp(app)
	if err != nil {
		return fmt.Errorf("app %s: %w", app.Name, err)
	}
	if err := r.svc.prepareApp(ctx, app); err != nil {
		return fmt.Errorf("app %s: %w", app.Name, err)
	}
	rt := r.newRuntime(app, routes)
	if err := r.installApp(ctx, rt); err != nil {
		_ = r.stopRuntime(ctx, rt)
		return fmt.Errorf("app %s: %w", app.Name, err)
	}
	r.log.Info("app loaded", "app", app.Name, "functions", strings.Join(app.FunctionNames(), ","), "root", app.Root)
	return nil
}

// checkApp builds the new version's routes and checks every function's
// trigger configuration without touching the serving version. The errors
// are collected per function, each naming its file and field.
func (r *Region) checkApp(app *funcapp.App) (*gateway.Routes, error) {
	if err := queueConfig(app.Host.Queues).Validate(); err != nil {
		return nil, fmt.Errorf("host.json: extensions.queues: %w", err)
	}
	routes := gateway.NewRoutes(app)
	values := r.svc.settingsFor(app)
	var fnErrs []error
	for _, fn := range app.Functions {
		if err := r.checkFunction(app, fn, routes, values); err != nil {
			fnErrs = append(fnErrs, err)
		}
	}
	return routes, errors.Join(fnErrs...)
}

// checkFunction adds fn's route and checks its trigger.
func (r *Region) checkFunction(app *funcapp.App, fn *funcapp.Function, routes *gateway.Routes, values map[string]string) error {
	if err := routes.Add(fn); err != nil {
		return err
	}
	switch trig := fn.Trigger(); trig.Kind() {
	case funcapp.TimerTrigger:
		_, err := r.timerSpec(app, fn, values)
		return err
	case funcapp.QueueTrigger:
		if err := queue.ValidQueueName(bindingQueue(trig.QueueName)); err != nil {
			return fmt.Errorf("%s/function.json: binding %q: field \"queueName\": %w", fn.Name, trig.Name, err)
		}
	}
	return nil
}

// installApp hands the triggers over from the serving version (if any) to
// rt, then routes requests to rt and drains the old version. When rt's
// triggers cannot start, the old version's are restarted and nothing else
// changes. Loads are serialized.
func (r *Region) installApp(ctx context.Context, rt *appRuntime) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.Lock()
	old := r.apps[rt.app.Name]
	r.mu.Unlock()
	if err := r.handOver(ctx, old, rt); err != nil {
		return err
	}
	r.gateway.Install(rt.inv, rt.routes)
	r.mu.Lock()
	r.apps[rt.app.Name] = rt
	r.mu.Unlock()
	if old != nil {
		if err := r.stopRuntime(ctx, old); err != nil {
			r.log.Warn("stop the replaced version", "app", rt.app.Name, "err", err)
		}
	}
	// The region's queue role may have changed while old was locked.
	r.toggleListeners(ctx, rt, r.queuesOn.Load())
	return nil
}

// handOver stops old's triggers and starts rt's. If rt's cannot all
// start, those that did are stopped and old's are started again.
func (r *Region) handOver(ctx context.Context, old, rt *appRuntime) error {
	if old != nil {
		old.mu.Lock()
		defer old.mu.Unlock()
		if err := r.stopTriggers(ctx, old, true); err != nil {
			r.log.Warn("stop the old version's triggers", "app", old.app.Name, "err", err)
		}
	}
	rt.mu.Lock()
	err := r.startTriggers(ctx, rt)
	if err != nil {
		_ = r.stopTriggers(ctx, rt, true)
	}
	rt.live = err == nil
	rt.mu.Unlock()
	if old == nil {
		return err
	}
	if err != nil {
		if rerr := r.startTriggers(ctx, old); rerr != nil {
			r.log.Error("restart the old version's triggers after a failed load", "app", old.app.Name, "err", rerr)
		}
		return err
	}
	old.stopped = true // its triggers belong to rt now; no restart by a settings change
	return nil
}

func (r *Region) newRuntime(app *funcapp.App, routes *gateway.Routes) *appRuntime {
	rt := &appRuntime{app: app, routes: routes}
	rt.pool = host.New(host.Options{
		App: app.Name, Root: app.Root, Path: app.ExecutablePath(), Args: app.Host.Handler.Arguments,
		WorkerPath: app.Host.Handler.WorkerPath, WorkerArgs: app.Host.Handler.WorkerArguments, Dir: app.WorkingDirectory(),
		Env:         func() []string { return r.handlerEnv(app) },
		Credential:  r.huser.credential(),
		IdleTimeout: r.opts.IdleTimeout, MaxInstances: r.opts.MaxInstances, ScaleOutAt: r.scaleOutAt(app),
		Logger: r.log,
	})
	rt.inv = invoke.New(invoke.Options{App: app, Pool: rt.pool, Binders: r.svc.binders(), Meter: r.meter, Logger: r.log,
		NoAccessLog: r.opts.NoAccessLog})
	rt.unsub = r.svc.onSettingsChange(app.Name, func() {
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			r.settingsChanged(rt)
		}()
	})
	return rt
}

func (r *Region) scaleOutAt(app *funcapp.App) int {
	if n := app.Host.MaxConcurrentRequests; n > 0 {
		return n
	}
	return r.opts.ScaleOutAt
}

// settingsChanged applies new settings as the Azure host does by
// restarting: handler instances are replaced gracefully, and triggers are
// restarted so a function disabled or enabled by a setting stops or starts.
func (r *Region) settingsChanged(rt *appRuntime) {
	rt.pool.Restart()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped || !rt.live {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.stopTriggers(ctx, rt, true); err != nil {
		r.log.Warn("stop triggers for a settings change", "app", rt.app.Name, "err", err)
	}
	if err := r.startTriggers(ctx, rt); err != nil {
		r.log.Error("restart triggers after a settings change", "app", rt.app.Name, "err", err)
	}
}

func (r *Region) stopRuntime(ctx context.Context, rt *appRuntime) error {
	if rt.unsub != nil {
		rt.unsub()
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.stopped = true
	errs := []error{r.stopTriggers(ctx, rt, true)}
	errs = append(errs, rt.pool.Shutdown(ctx))
	return errors.Join(errs...)
}

func (r *Region) stopApps(ctx context.Context) error {
	r.mu.Lock()
	apps := r.apps
	r.apps = map[string]*appRuntime{}
	r.mu.Unlock()
	var errs []error
	for _, rt := range apps {
		errs = append(errs, r.stopRuntime(ctx, rt))
	}
	return errors.Join(errs...)
}

// Apps returns app name -> function names, for the admin API.
func (r *Region) Apps() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]string, len(r.apps))
	for name, rt := range r.apps {
		out[name] = rt.app.FunctionNames()
	}
	return out
}

func (r *Region) appNames() []string {
	names := make([]string, 0)
	for n := range r.Apps() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// handlerEnv is the app's part of the handler's environment: every app
// setting, connection strings as CUSTOMCONNSTR_<name> (as App Service sets
// them), AzureWebJobsStorage when the app leaves it to the platform
// (storage.go), the site name and the region's name (REGION_NAME, as App Service
// sets it). The pool adds a minimal base and the worker variables; nothing
// else of the region's own environment reaches a handler (host/env.go).
func (r *Region) handlerEnv(app *funcapp.App) []string {
	snap := r.svc.settings(app.Name)
	env := r.storageEnv(app.Name, snap.Values) // replaces the app's own value
	for k, v := range snap.Values {
		if k == "AzureWebJobsStorage" && len(env) > 0 {
			continue
		}
		env = append(env, k+"="+v)
	}
	for k, v := range snap.ConnectionStrings {
		env = append(env, "CUSTOMCONNSTR_"+k+"="+v)
	}
	env = append(env, "WEBSITE_SITE_NAME="+app.Name, "REGION_NAME="+r.opts.Name)
	if r.huser != nil {
		env = append(env, r.huser.env...) // HOME, USER, LOGNAME of the handler user
	}
	return env
}

// Instances is how many handler instances of app are running or starting.
func (r *Region) Instances(app string) int {
	r.mu.Lock()
	rt := r.apps[app]
	r.mu.Unlock()
	if rt == nil {
		return 0
	}
	s := rt.pool.Stats()
	return s.Instances + s.Starting
}

func joinErrs(errs []error) error { return errors.Join(errs...) }
