package region

import (
	"context"
	"fmt"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/queue"
)

// startTriggers starts a listener for every enabled queue-triggered
// function and registers every timer.
func (r *Region) startTriggers(ctx context.Context, rt *appRuntime) error {
	for _, fn := range rt.app.Functions {
		if fn.Disabled || r.svc.disabled(rt.app.Name, fn.Name) {
			r.log.Info("function disabled; trigger not started", "app", rt.app.Name, "function", fn.Name)
			continue
		}
		t, err := r.startTrigger(ctx, rt, fn)
		if err != nil {
			return fmt.Errorf("function %s: %w", fn.Name, err)
		}
		if t != nil {
			rt.triggers = append(rt.triggers, t)
		}
	}
	return nil
}

func (r *Region) startTrigger(ctx context.Context, rt *appRuntime, fn *funcapp.Function) (stopper, error) {
	switch trig := fn.Trigger(); trig.Kind() {
	case funcapp.QueueTrigger:
		cfg := queueConfig(rt.app.Host.Queues)
		l, err := r.svc.queues.Listen(ctx, rt.app.Name, trig.QueueName, cfg, r.queueHandler(rt.inv, fn))
		if err != nil {
			return nil, err
		}
		return l, nil
	case funcapp.TimerTrigger:
		return r.startTimer(ctx, rt, fn)
	}
	return nil, nil
}

// queueHandler invokes fn for a message; an error leaves the message for
// redelivery (and, past maxDequeueCount, the poison queue).
func (r *Region) queueHandler(inv *invoke.Invoker, fn *funcapp.Function) queue.Handler {
	return func(ctx context.Context, m *queue.Message) error {
		t := invoke.Trigger{
			Value:       m.TriggerData(),
			Metadata:    m.Metadata(fn.Name, time.Now()),
			Expressions: invoke.Expressions{"queueTrigger": string(m.Body)},
		}
		_, err := inv.Invoke(ctx, fn, t)
		return err
	}
}
