package region

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/schedule"
	"github.com/tandemhq/tandem/internal/timer"
)

func (r *Region) startScheduler(ctx context.Context) error {
	host, _ := os.Hostname()
	s, err := timer.New(timer.Options{
		Clock: r.opts.Clock, JS: r.broker.JetStream(),
		StatusBucket: r.broker.Name("timers"), LeaseBucket: r.broker.Name("timerlease"),
		NodeID: fmt.Sprintf("%s-%s-%d-%s", r.opts.Name, host, os.Getpid(), invoke.NewGUID()[:8]),
		Role:   primaryGate{r}, Logger: r.log, Replicas: r.broker.Replicas(),
		// A node that died (kill -9) holds its timers' leases until they
		// run out: keep that short so a restarted region resumes quickly.
		LeaseTTL: 3 * time.Second,
	})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	r.svc.timers = s
	return nil
}

// startTimer registers a timer function with the region's scheduler.
func (r *Region) startTimer(_ context.Context, rt *appRuntime, fn *funcapp.Function) (stopper, error) {
	spec, err := r.timerSpec(rt.app, fn, r.svc.settings(rt.app.Name).Values)
	if err != nil {
		return nil, err
	}
	fire := func(ctx context.Context, info timer.Info) error {
		value, err := json.Marshal(info)
		if err != nil {
			return err
		}
		md := map[string]any{"sys": invoke.Sys(fn.Name, info.ClaimedAt)}
		_, err = rt.inv.InvokeWithRetry(ctx, fn, invoke.Trigger{Value: value, Metadata: md}, rt.app.RetryFor(fn))
		return err
	}
	if err := r.svc.timers.Add(rt.app.Name, fn.Name, spec, fire); err != nil {
		return nil, fmt.Errorf("%s/function.json: binding %q (timerTrigger): %w", fn.Name, fn.Trigger().Name, err)
	}
	return timerStopper{s: r.svc.timers, app: rt.app.Name, fn: fn.Name}, nil
}

// timerSpec resolves and checks fn's timer trigger with the app settings
// values; an error names the file and field (or the setting) at fault.
func (r *Region) timerSpec(app *funcapp.App, fn *funcapp.Function, values map[string]string) (timer.Spec, error) {
	trig := fn.Trigger()
	expr, err := schedule.Resolve(trig.Schedule, func(k string) (string, bool) { v, ok := values[k]; return v, ok })
	if err != nil {
		return timer.Spec{}, fmt.Errorf("%s/function.json: field \"schedule\": %w", fn.Name, err)
	}
	spec := timer.Spec{Schedule: expr, RunOnStartup: trig.RunOnStartup, UseMonitor: trig.UseMonitor == nil || *trig.UseMonitor}
	if setting, tz := timeZone(values); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return timer.Spec{}, fmt.Errorf("%s/function.json: field \"schedule\": app setting %s %s: %w", fn.Name, setting, strconv.Quote(tz), err)
		}
		spec.Location = loc
	}
	if _, err := schedule.Parse(expr, schedule.In(spec.Location)); err != nil {
		return timer.Spec{}, fmt.Errorf("%s/function.json: field \"schedule\" (%q): %w", fn.Name, expr, err)
	}
	return spec, nil
}

// timeZone is the app setting that sets the timers' zone and its value:
// WEBSITE_TIME_ZONE, else TZ (as Azure reads them).
func timeZone(values map[string]string) (setting, zone string) {
	for _, k := range []string{"WEBSITE_TIME_ZONE", "TZ"} {
		if v := values[k]; v != "" {
			return k, v
		}
	}
	return "", ""
}

type timerStopper struct {
	s       *timer.Scheduler
	app, fn string
}

func (t timerStopper) Stop(context.Context) error { return t.s.Remove(t.app, t.fn) }
