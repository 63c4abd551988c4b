package host

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// janitor stops idle instances (scale to zero), stops drained retiring
// ones, and samples memory for metering.
func (p *Pool) janitor() {
	defer p.wg.Done()
	tick := time.NewTicker(max(min(p.opts.IdleTimeout/4, time.Second), 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-p.stopJan:
			return
		case <-tick.C:
			p.sweep()
		}
	}
}

func (p *Pool) sweep() {
	var stop []*instance
	var rss, n int64
	p.mu.Lock()
	now := time.Now()
	for _, in := range p.instances {
		if !in.isReady() {
			continue
		}
		if p.crashes > 0 && !in.readyAt.IsZero() && now.Sub(in.readyAt) >= p.opts.StableAfter {
			p.crashes = 0 // ready long enough: the crash loop, if any, is over
		}
		idle := in.inflight == 0 && now.Sub(in.lastUsed) >= p.opts.IdleTimeout
		if in.inflight == 0 && (idle || in.retiring || in.gen != p.gen) {
			if idle {
				in.log.Info("handler idle; stopping", "idle", now.Sub(in.lastUsed).Round(time.Millisecond))
			}
			in.retiring = true
			stop = append(stop, in)
			continue
		}
		rss += in.rssBytes()
		n++
	}
	if n > 0 {
		p.rss.Store(rss / n)
	}
	p.mu.Unlock()
	for _, in := range stop {
		p.stopAsync(in)
	}
}

func (i *instance) isReady() bool {
	select {
	case <-i.ready:
		return i.startErr == nil && !i.hasExited()
	default:
		return false
	}
}

// Restart replaces every instance: new requests start instances with a
// fresh environment, old ones finish their requests and stop.
func (p *Pool) Restart() {
	p.mu.Lock()
	p.gen++
	n := len(p.instances)
	var stop []*instance
	for _, in := range p.instances {
		in.retiring = true
		if in.inflight == 0 {
			stop = append(stop, in)
		}
	}
	p.mu.Unlock()
	p.log.Info("restarting handler instances", "instances", n)
	for _, in := range stop {
		p.stopAsync(in)
	}
}

// Stats describes the pool now.
type Stats struct {
	Instances int   `json:"instances"` // ready instances
	Starting  int   `json:"starting"`
	InFlight  int   `json:"inFlight"`
	RSSBytes  int64 `json:"rssBytes"` // average resident memory per instance
}

// Stats returns the pool's current numbers.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s Stats
	for _, in := range p.instances {
		switch {
		case in.isReady():
			s.Instances++
		case !in.hasExited():
			s.Starting++
		}
		s.InFlight += in.inflight
	}
	s.RSSBytes = p.rss.Load()
	return s
}

// MemoryBytes is the average resident memory of an instance, sampled by
// the janitor; metering multiplies it by busy time for GB-seconds.
func (p *Pool) MemoryBytes() int64 { return p.rss.Load() }

// Shutdown stops taking requests, lets in-flight ones finish until ctx is
// done, then stops every process (SIGTERM, then SIGKILL after StopGrace).
// Safe to call more than once.
func (p *Pool) Shutdown(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		err = p.drain(ctx)
		close(p.stopJan)
		p.stopAll()
		p.wg.Wait() // every instance has exited and closed its connections
	})
	return err
}

func (p *Pool) drain(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for p.Stats().InFlight > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain handler pool %s: %w (%d requests cut off)", p.opts.App, ctx.Err(), p.Stats().InFlight)
		case <-tick.C:
		}
	}
	return nil
}

func (p *Pool) stopAll() {
	p.mu.Lock()
	all := append([]*instance(nil), p.instances...)
	for _, in := range all {
		in.retiring = true
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop(p.opts.StopGrace)
		}()
	}
	wg.Wait()
}
