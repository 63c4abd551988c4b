package region

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/hostjson"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/queue"
)

// startTriggers registers every enabled timer (timers gate themselves on
// the role) and, while the region processes queues, starts a listener for
// every enabled queue-triggered function. rt.mu must be held.
func (r *Region) startTriggers(ctx context.Context, rt *appRuntime) error {
	for _, fn := range rt.app.Functions {
		if fn.Disabled || r.svc.disabled(rt.app.Name, fn.Name) {
			r.log.Info("function disabled; trigger not started", "app", rt.app.Name, "function", fn.Name)
			continue
		}
		if fn.Trigger().Kind() != funcapp.TimerTrigger {
			continue
		}
		t, err := r.startTimer(ctx, rt, fn)
		if err != nil {
			return err // names the file and field
		}
		rt.triggers = append(rt.triggers, t)
	}
	if !r.queuesOn.Load() {
		return nil
	}
	return r.startListeners(ctx, rt)
}

// startListeners starts the app's queue and blob trigger listeners. rt.mu
// must be held.
func (r *Region) startListeners(ctx context.Context, rt *appRuntime) error {
	for _, fn := range rt.app.Functions {
		trig := fn.Trigger()
		if trig.Kind() != funcapp.QueueTrigger || fn.Disabled || r.svc.disabled(rt.app.Name, fn.Name) {
			continue
		}
		l, err := r.svc.queues.Listen(ctx, rt.app.Name, bindingQueue(trig.QueueName), queueConfig(rt.app.Host.Queues), r.queueHandler(rt.inv, fn))
		if err != nil {
			return fmt.Errorf("%s/function.json: binding %q: field \"queueName\": %w", fn.Name, trig.Name, err)
		}
		rt.listeners = append(rt.listeners, l)
	}
	return r.startBlobListeners(ctx, rt) // blobtriggers.go
}

// stopTriggers stops listeners (draining their handlers) and timers.
// rt.mu must be held.
func (r *Region) stopTriggers(ctx context.Context, rt *appRuntime, timersToo bool) error {
	var errs []error
	for _, l := range rt.listeners {
		errs = append(errs, l.Stop(ctx))
	}
	rt.listeners = nil
	if timersToo {
		for _, t := range rt.triggers {
			errs = append(errs, t.Stop(ctx))
		}
		rt.triggers = nil
	}
	return joinErrs(errs)
}

// setQueueTriggers starts or stops queue processing in every app: on in
// the active primary, off in a secondary or a fenced primary.
func (r *Region) setQueueTriggers(on bool) {
	if r.queuesOn.Swap(on) == on {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.mu.Lock()
	apps := make([]*appRuntime, 0, len(r.apps))
	for _, rt := range r.apps {
		apps = append(apps, rt)
	}
	r.mu.Unlock()
	for _, rt := range apps {
		r.toggleListeners(ctx, rt, on)
	}
}

func (r *Region) toggleListeners(ctx context.Context, rt *appRuntime, on bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return
	}
	var err error
	if on && len(rt.listeners) == 0 {
		err = r.startListeners(ctx, rt)
	} else if !on {
		err = r.stopTriggers(ctx, rt, false)
	}
	if err != nil {
		r.log.Error("queue listeners", "app", rt.app.Name, "on", on, "err", err)
	}
}

// queueHandler invokes fn for a message; an error leaves the message for
// redelivery (and, past maxDequeueCount, the poison queue).
func (r *Region) queueHandler(inv *invoke.Invoker, fn *funcapp.Function) queue.Handler {
	return func(ctx context.Context, m *queue.Message) error {
		value := m.HostTriggerData()
		if fn.Trigger().DataType == "binary" {
			value = hostjson.Bytes(m.Body)
		}
		t := invoke.Trigger{
			Value:       value,
			Metadata:    m.Metadata(fn.Name, time.Now()),
			Expressions: invoke.Expressions{"queueTrigger": string(m.Body)},
		}
		_, err := inv.Invoke(ctx, fn, t)
		return err
	}
}

// bindingQueue is the queue a binding's queueName (resolved) names: lower
// case, as the Azure queues extension coerces it before validating
// (QueueTriggerAttributeBindingProvider.NormalizeAndValidate and
// QueuesExtensionConfigProvider.GetQueue: ToLowerInvariant), so
// "queueName": "Orders" reads and writes the queue "orders".
func bindingQueue(name string) string { return strings.ToLower(name) }
