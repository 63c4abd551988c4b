package settings

import (
	"context"
	"log/slog"
	"sort"
	"sync"
)

// notifier calls subscribers from one goroutine, outside every lock.
// Changes to an app that arrive while subscribers run are coalesced into
// one later call.
type notifier struct {
	log    *slog.Logger
	mu     sync.Mutex
	subs   map[int]func(app string)
	next   int
	dirty  map[string]bool
	signal chan struct{}
}

func newNotifier(log *slog.Logger) *notifier {
	return &notifier{log: log, subs: map[int]func(string){}, dirty: map[string]bool{}, signal: make(chan struct{}, 1)}
}

func (n *notifier) subscribe(fn func(app string)) func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.next
	n.next++
	n.subs[id] = fn
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.subs, id)
	}
}

func (n *notifier) notify(apps ...string) {
	if len(apps) == 0 {
		return
	}
	n.mu.Lock()
	for _, a := range apps {
		n.dirty[a] = true
	}
	n.mu.Unlock()
	select {
	case n.signal <- struct{}{}:
	default:
	}
}

func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.signal:
			n.deliver()
		}
	}
}

func (n *notifier) deliver() {
	n.mu.Lock()
	apps := make([]string, 0, len(n.dirty))
	for a := range n.dirty {
		apps = append(apps, a)
	}
	n.dirty = map[string]bool{}
	ids := make([]int, 0, len(n.subs))
	for id := range n.subs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	subs := make([]func(string), 0, len(ids))
	for _, id := range ids {
		subs = append(subs, n.subs[id])
	}
	n.mu.Unlock()
	sort.Strings(apps)
	for _, a := range apps {
		for _, fn := range subs {
			n.call(fn, a)
		}
	}
}

// call runs one subscriber, surviving its panic.
func (n *notifier) call(fn func(string), app string) {
	defer func() {
		if r := recover(); r != nil {
			n.log.Error("settings subscriber panicked", "app", app, "panic", r)
		}
	}()
	fn(app)
}
