// Package clock lets timers, leases and probes run on injected time, so
// tests move time forward instead of sleeping through it.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of time.Timer that Tandem uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Fake is a clock that moves only when told to.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.arm(d)
	return t
}

// Advance moves time forward by d, firing due timers in deadline order.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves time to t (never backwards), firing due timers in deadline order.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return
	}
	due := f.dueLocked(t)
	for _, ft := range due {
		f.now = ft.when
		ft.fire()
	}
	f.now = t
}

// Timers reports how many timers are armed; tests poll it to know a
// goroutine is waiting before they advance time.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline returns the earliest armed deadline and whether there is one.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.timers) == 0 {
		return time.Time{}, false
	}
	min := f.timers[0].when
	for _, t := range f.timers[1:] {
		if t.when.Before(min) {
			min = t.when
		}
	}
	return min, true
}

func (f *Fake) dueLocked(t time.Time) []*fakeTimer {
	var due, keep []*fakeTimer
	for _, ft := range f.timers {
		if !ft.when.After(t) {
			due = append(due, ft)
		} else {
			keep = append(keep, ft)
		}
	}
	f.timers = keep
	sort.SliceStable(due, func(i, j int) bool { return due[i].when.Before(due[j].when) })
	return due
}

func (f *Fake) removeLocked(t *fakeTimer) bool {
	for i, ft := range f.timers {
		if ft == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			return true
		}
	}
	return false
}

type fakeTimer struct {
	f    *Fake
	c    chan time.Time
	when time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// arm schedules the timer; f.mu must be held.
func (t *fakeTimer) arm(d time.Duration) {
	t.when = t.f.now.Add(d)
	if d <= 0 {
		t.fire()
		return
	}
	t.f.timers = append(t.f.timers, t)
}

func (t *fakeTimer) fire() {
	select {
	case t.c <- t.when:
	default:
	}
}

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.f.removeLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	active := t.f.removeLocked(t)
	t.arm(d)
	return active
}
