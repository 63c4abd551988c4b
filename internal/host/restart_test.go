package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSlowStartIsNotSweptAsIdle: issue 11 item 6. A handler slower to
// start than the request's deadline (functionTimeout) gets ready with no
// request waiting; it must count as idle from when it got ready, not since
// the zero time (which the sweep saw as idle=2562047h and stopped it).
func TestSlowStartIsNotSweptAsIdle(t *testing.T) {
	p := newPool(t, func(o *Options) {
		o.Env = func() []string { return []string{"ECHO_START_DELAY_MS=300"} }
		o.IdleTimeout = time.Hour
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := call(ctx, p, "/api/x"); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "still starting") {
		t.Fatalf("a request that gave up while the handler started: %v", err)
	}
	waitFor(t, "the slow handler to get ready", func() bool { return p.Stats().Instances == 1 })
	p.sweep()
	if s := p.Stats(); s.Instances != 1 {
		t.Fatalf("the sweep stopped a handler that just got ready: %+v", s)
	}
	if _, err := get(t, p, "/api/y"); err != nil {
		t.Fatalf("the slow handler does not serve: %v", err)
	}
}

// TestRestartDelayIsExplained: a request that gives up while the pool
// waits out a crash-backoff delay says so, with the crash count, rather
// than "function timed out".
func TestRestartDelayIsExplained(t *testing.T) {
	p := newPool(t, nil)
	p.mu.Lock()
	p.crashes = 8 // backoff(8) = 3.2s
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := call(ctx, p, "/api/x")
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "restarting after 8 consecutive crashes") {
		t.Fatalf("err %v", err)
	}
}

// TestStableInstanceEndsCrashLoop: the restart backoff starts over once an
// instance has been ready for StableAfter, not only when a request was
// served (a handler that crashed a few times, then ran unused for hours,
// was restarted with the old delay).
func TestStableInstanceEndsCrashLoop(t *testing.T) {
	p := newPool(t, func(o *Options) { o.StableAfter = 50 * time.Millisecond })
	if _, err := get(t, p, "/api/x"); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.crashes = 6
	p.mu.Unlock()
	waitFor(t, "the crash count to reset", func() bool {
		p.sweep()
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.crashes == 0
	})
}

// TestExitBeforeListeningFailsAtOnce: issue 12 item 9. A handler that
// exits before it listens fails the request at once with its exit status,
// not after the start timeout.
func TestExitBeforeListeningFailsAtOnce(t *testing.T) {
	p := newPool(t, func(o *Options) {
		o.Env = func() []string { return []string{"ECHO_FAIL_START=1"} }
		o.StartTimeout = time.Hour // a wait for it would hang the test
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := call(ctx, p, "/api/x")
	if err == nil || !strings.Contains(err.Error(), "exited before it listened") || !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "refusing to start: ECHO_FAIL_START is set") {
		t.Fatalf("err %v", err)
	}
}
