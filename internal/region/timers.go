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
	spec, err := r.timerSpec(rt.app, fn)
	if err != nil {
		return nil, err
	}
	fire := func(ctx context.Context, info timer.Info) error {
		value, err := json.Marshal(info)
		if err != nil {
			return err
		}
		md := map[string]any{"sys": invoke.Sys(fn.Name, time.Now())}
		_, err = rt.inv.InvokeWithRetry(ctx, fn, invoke.Trigger{Value: value, Metadata: md}, rt.app.RetryFor(fn))
		return err
	}
	if err := r.svc.timers.Add(rt.app.Name, fn.Name, spec, fire); err != nil {
		return nil, err
	}
	return timerStopper{s: r.svc.timers, app: rt.app.Name, fn: fn.Name}, nil
}

func (r *Region) timerSpec(app *funcapp.App, fn *funcapp.Function) (timer.Spec, error) {
	trig := fn.Trigger()
	values := r.svc.settings(app.Name).Values
	expr, err := schedule.Resolve(trig.Schedule, func(k string) (string, bool) { v, ok := values[k]; return v, ok })
	if err != nil {
		return timer.Spec{}, fmt.Errorf("%s/function.json: field \"schedule\": %w", fn.Name, err)
	}
	spec := timer.Spec{Schedule: expr, RunOnStartup: trig.RunOnStartup, UseMonitor: trig.UseMonitor == nil || *trig.UseMonitor}
	if tz := firstNonEmpty(values["WEBSITE_TIME_ZONE"], values["TZ"]); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return timer.Spec{}, fmt.Errorf("app setting WEBSITE_TIME_ZONE %s: %w", strconv.Quote(tz), err)
		}
		spec.Location = loc
	}
	return spec, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

type timerStopper struct {
	s       *timer.Scheduler
	app, fn string
}

func (t timerStopper) Stop(context.Context) error { return t.s.Remove(t.app, t.fn) }
