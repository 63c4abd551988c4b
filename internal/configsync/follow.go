package configsync

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const maxRetry = 30 * time.Second

// run keeps one follower on Options.Source: replaced when the source
// changes (a new primary), none while there is no source (this region is
// primary, or does not know the primary yet).
func (s *Syncer) run(ctx context.Context) {
	cur, stop := "", func() {}
	defer func() { stop() }()
	for {
		if src := s.source(); src != cur {
			stop()
			cur, stop = src, func() {}
			s.retarget(src)
			if src != "" {
				stop = s.startFollower(ctx, src)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
	}
}

func (s *Syncer) source() string {
	if src := s.opts.Source(); src != s.region {
		return src
	}
	return ""
}

func (s *Syncer) retarget(src string) {
	s.setStatus(func(st *Status) { st.Following, st.Watching, st.LastError = src, false, "" })
	if src == "" {
		s.metrics.following.Set(0)
		s.log.Info("configsync idle: this region has no primary to follow")
		return
	}
	s.metrics.following.Set(1)
	s.log.Info("configsync following the primary", "primary", src)
}

// startFollower runs follow(src) until the returned stop is called.
func (s *Syncer) startFollower(ctx context.Context, src string) (stop func()) {
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		s.follow(fctx, src)
	}()
	return func() {
		cancel()
		<-done
	}
}

// follow watches src until ctx ends, re-watching with backoff after a
// failure (the primary unreachable, the leafnode down).
func (s *Syncer) follow(ctx context.Context, src string) {
	wait := s.opts.Retry
	for {
		err := s.followOnce(ctx, src, func() { wait = s.opts.Retry })
		if ctx.Err() != nil {
			return
		}
		s.noteError(src, err)
		t := s.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		wait = min(2*wait, maxRetry)
	}
}

func (s *Syncer) noteError(src string, err error) {
	msg := err.Error()
	if s.Status().LastError != msg {
		s.log.Warn("configsync: cannot follow the primary; retrying", "primary", src, "err", err)
	}
	s.setStatus(func(st *Status) { st.LastError, st.Watching = msg, false })
}

// followOnce loads src's configuration, syncs every app, then applies each
// change as it arrives. Every Options.Check it makes sure the watch is not
// stalled (the primary restarted, the leafnode came back) and every
// Options.Resync it compares everything again.
func (s *Syncer) followOnce(ctx context.Context, src string, connected func()) error {
	js, err := jetstream.NewWithDomain(s.opts.Broker.Conn(), src)
	if err != nil {
		return fmt.Errorf("follow %s: %w", src, err)
	}
	ws, err := openWatches(ctx, js, src)
	if err != nil {
		return fmt.Errorf("follow %s: %w", src, err)
	}
	defer ws.stop()
	m := newMirror(src)
	if err := ws.initial(ctx, m); err != nil {
		return fmt.Errorf("follow %s: %w", src, err)
	}
	connected()
	s.setStatus(func(st *Status) { st.Watching = true })
	s.syncApps(ctx, m, m.appNames())
	return s.watchLoop(ctx, js, ws, m)
}

func (s *Syncer) watchLoop(ctx context.Context, js jetstream.JetStream, ws *watchSet, m *mirror) error {
	tick := s.opts.Clock.NewTimer(s.opts.Check)
	defer tick.Stop()
	lastFull := s.opts.Clock.Now()
	var stall stallCheck
	for {
		dirty, err := ws.next(ctx, m, tick.C())
		if err != nil {
			return fmt.Errorf("follow %s: %w", m.region, err)
		}
		if dirty != nil {
			s.syncApps(ctx, m, dirty)
			continue
		}
		tick.Reset(s.opts.Check)
		if err := stall.check(ctx, js, ws, m); err != nil {
			return fmt.Errorf("follow %s: %w", m.region, err)
		}
		if now := s.opts.Clock.Now(); now.Sub(lastFull) >= s.opts.Resync {
			lastFull = now
			s.syncApps(ctx, m, m.appNames())
		}
	}
}

// syncApps plans and applies apps from the mirror, observing the lag of
// every change that came from a live update.
func (s *Syncer) syncApps(ctx context.Context, m *mirror, apps []string) {
	p, err := s.syncMirror(ctx, m, apps)
	if ctx.Err() != nil {
		return
	}
	now := s.opts.Clock.Now()
	applied := 0
	for _, c := range p.Changes {
		if !c.Applied {
			continue
		}
		applied++
		if at, ok := m.takeCreated(c); ok {
			s.metrics.lag.WithLabelValues(lagClass(c.Class)).Observe(max(now.Sub(at), 0).Seconds())
		}
	}
	clear(m.created) // updates that changed nothing here have no lag to report
	s.reportOnce(p)
	s.setStatus(func(st *Status) {
		st.Applied += uint64(applied)
		st.LastSync = now
		st.LastError = ""
		if err != nil {
			st.LastError = err.Error()
		}
	})
	if err != nil {
		s.log.Warn("configsync: some changes were not applied", "primary", m.region, "err", err)
	}
}

func (s *Syncer) syncMirror(ctx context.Context, m *mirror, apps []string) (*Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := &Snapshot{Region: m.region, Apps: map[string]*AppConfig{}}
	for _, app := range apps {
		src.Apps[app] = m.app(app)
	}
	p, err := s.plan(ctx, src, nil)
	if err != nil {
		return &Plan{}, err
	}
	return p, s.applyPlan(ctx, p, byContinuous)
}

// reportOnce logs each report (orphan, collision, ...) the first time it
// is seen, so a steady state does not repeat itself every resync.
func (s *Syncer) reportOnce(p *Plan) {
	for _, c := range p.Changes {
		if c.Kind.Applies() || c.Kind == Excluded {
			continue
		}
		id := fmt.Sprint(c.App, "\x00", c.Class, "\x00", c.Function, "\x00", c.Name, "\x00", c.Kind)
		s.stMu.Lock()
		seen := s.reported[id]
		s.reported[id] = true
		s.stMu.Unlock()
		if !seen {
			s.log.Warn("configsync: not applied", "app", c.App, "class", c.Class, "function", c.Function,
				"name", c.Name, "kind", c.Kind, "reason", c.Reason, "primary", p.Source)
		}
	}
}
