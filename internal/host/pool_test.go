package host

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tandemhq/tandem/internal/testbin"
)

func newPool(t *testing.T, mut func(*Options)) *Pool {
	t.Helper()
	bin := testbin.Build(t, "testdata/handlers/echo")
	opts := Options{App: "echo", Root: t.TempDir(), Path: bin, Dir: t.TempDir(), IdleTimeout: time.Minute, StopGrace: 2 * time.Second}
	if mut != nil {
		mut(&opts)
	}
	p := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		_ = p.Shutdown(ctx) // safe twice
	})
	return p
}

type echoReply struct {
	Path string            `json:"path"`
	PID  int               `json:"pid"`
	Env  map[string]string `json:"env"`
}

func get(t *testing.T, p *Pool, path string) (echoReply, error) {
	t.Helper()
	body, err := call(context.Background(), p, path)
	if err != nil {
		return echoReply{}, err
	}
	var r echoReply
	err = json.Unmarshal(body, &r)
	return r, err
}

// call GETs path from p and reads the whole body.
func call(ctx context.Context, p *Pool, path string) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(path)
	body, err := p.Call(ctx, req, resp)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

func TestScaleFromZeroAndIdleToZero(t *testing.T) {
	p := newPool(t, func(o *Options) { o.IdleTimeout = 150 * time.Millisecond })
	if s := p.Stats(); s.Instances != 0 {
		t.Fatalf("started with %d instances", s.Instances)
	}
	r, err := get(t, p, "/api/hello?env=FUNCTIONS_CUSTOMHANDLER_PORT&env=FUNCTIONS_APP_ROOT_PATH")
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != "/api/hello" || r.Env["FUNCTIONS_CUSTOMHANDLER_PORT"] == "" || r.Env["FUNCTIONS_APP_ROOT_PATH"] != p.opts.Root {
		t.Fatalf("reply %+v", r)
	}
	if s := p.Stats(); s.Instances != 1 {
		t.Fatalf("instances %d", s.Instances)
	}
	waitFor(t, "idle scale to zero", func() bool { s := p.Stats(); return s.Instances+s.Starting == 0 })
	if _, err := get(t, p, "/api/again"); err != nil {
		t.Fatalf("after scale to zero: %v", err)
	}
}

func TestScaleOutUnderLoad(t *testing.T) {
	p := newPool(t, func(o *Options) { o.ScaleOutAt = 2; o.MaxInstances = 3 })
	var wg sync.WaitGroup
	pids := sync.Map{}
	var failures atomic.Int32
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := get(t, p, "/api/slow?sleep=150")
			if err != nil {
				failures.Add(1)
				return
			}
			pids.Store(r.PID, true)
		}()
	}
	wg.Wait()
	n := 0
	pids.Range(func(any, any) bool { n++; return true })
	if failures.Load() != 0 || n < 2 || n > 3 {
		t.Fatalf("failures %d, distinct instances %d (want 2..3)", failures.Load(), n)
	}
}

func TestCrashFailsInFlightClearlyAndRestarts(t *testing.T) {
	p := newPool(t, nil)
	first, err := get(t, p, "/api/one")
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(t, p, "/api/boom?crash=3")
	if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("crash error: %v", err)
	}
	second, err := get(t, p, "/api/two")
	if err != nil {
		t.Fatalf("after crash: %v", err)
	}
	if second.PID == first.PID {
		t.Fatal("same process after a crash")
	}
}

func TestCrashLoopBacksOff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 0, 2: 50 * time.Millisecond, 3: 100 * time.Millisecond, 20: 10 * time.Second} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestFailedStartIsReported(t *testing.T) {
	p := newPool(t, func(o *Options) { o.Env = func() []string { return []string{"ECHO_FAIL_START=1"} } })
	_, err := get(t, p, "/api/x")
	if err == nil || !strings.Contains(err.Error(), "exited before it listened") {
		t.Fatalf("err %v", err)
	}
}

func TestRestartAppliesNewEnvironment(t *testing.T) {
	var greeting atomic.Value
	greeting.Store("hello")
	p := newPool(t, func(o *Options) {
		o.Env = func() []string { return []string{"GREETING=" + greeting.Load().(string)} }
	})
	// A slow request in flight on the old instance must complete.
	slow := make(chan error, 1)
	go func() {
		_, err := call(context.Background(), p, "/api/slow?sleep=300")
		slow <- err
	}()
	waitFor(t, "slow request in flight", func() bool { return p.Stats().InFlight == 1 })
	greeting.Store("bonjour")
	p.Restart()
	r, err := get(t, p, "/api/g?env=GREETING")
	if err != nil || r.Env["GREETING"] != "bonjour" {
		t.Fatalf("after restart: %+v %v", r, err)
	}
	if err := <-slow; err != nil {
		t.Fatalf("in-flight request during restart: %v", err)
	}
	waitFor(t, "old instance stopped", func() bool { return p.Stats().Instances == 1 })
}

func TestShutdownDrainsInFlight(t *testing.T) {
	p := newPool(t, nil)
	done := make(chan error, 1)
	go func() { _, err := get(t, p, "/api/slow?sleep=200"); done <- err }()
	waitFor(t, "request in flight", func() bool { return p.Stats().InFlight == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request cut by shutdown: %v", err)
	}
	if _, err := get(t, p, "/api/late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after shutdown: %v", err)
	}
}
