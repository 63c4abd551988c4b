// Package host runs an app's custom-handler processes the way the Azure
// Functions host does (same environment, same readiness rule), and adds what
// a consumption platform needs: start on the first request, stop after an
// idle timeout, start more instances under load, restart after a crash with
// backoff, and drain before stopping. Callers send HTTP/1.1 requests
// through Pool.Call (fasthttp's request and response types, over each
// instance's own connection pool); the pool picks the instance.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Options configures a Pool.
type Options struct {
	App  string // app name, for logs and instance ids
	Root string // FUNCTIONS_APP_ROOT_PATH
	Path string // executable (%NAME% of a worker variable is replaced)
	// Args are the host.json arguments; WorkerPath and WorkerArgs are
	// defaultWorkerPath and workerArguments. See commandLine.
	Args       []string
	WorkerPath string
	WorkerArgs []string
	Dir        string // working directory
	// Env returns the app's variables (settings, connection strings, site
	// name), NAME=value; it is called for every new instance so settings
	// changes apply. The pool adds a minimal base and the worker variables
	// and drops TANDEM_* (see env.go).
	Env func() []string
	// Credential, when set, runs handlers as another OS user (the region
	// must be allowed to switch users, typically as root).
	Credential *syscall.Credential

	IdleTimeout  time.Duration // stop an instance idle this long (default 5m)
	MaxInstances int           // upper bound (default 4)
	// ScaleOutAt starts another instance when every instance has this many
	// requests in flight (default 16).
	ScaleOutAt   int
	StartTimeout time.Duration // readiness deadline (default 30s)
	StopGrace    time.Duration // SIGTERM to SIGKILL (default 5s)
	// StableAfter: an instance ready this long ends a crash loop (the
	// restart backoff starts over); default 30s.
	StableAfter time.Duration
	Logger      *slog.Logger
}

func (o *Options) defaults() {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = 4
	}
	if o.ScaleOutAt <= 0 {
		o.ScaleOutAt = 16
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
	if o.StableAfter <= 0 {
		o.StableAfter = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Env == nil {
		o.Env = func() []string { return nil }
	}
}

type processSpec struct {
	path, dir, root, workerPath string
	args, workerArgs            []string
	env                         func() []string
	cred                        *syscall.Credential
}

// Errors a caller maps to 5xx responses.
var (
	ErrClosed  = errors.New("handler pool is shut down")
	ErrCrashed = errors.New("handler process exited during the request")
	// ErrNotReady: the request gave up while its handler instance was
	// still starting, or waiting out a restart delay after crashes; the
	// error says which.
	ErrNotReady = errors.New("no handler instance was ready")
)

// Pool is the set of handler processes of one app.
type Pool struct {
	opts  Options
	spec  processSpec
	probe *http.Client
	log   *slog.Logger

	mu        sync.Mutex
	instances []*instance
	gen       uint64
	nextID    int
	crashes   int
	closed    bool
	rss       atomic.Int64 // average resident bytes per ready instance; read per invocation without the lock

	wg        sync.WaitGroup
	stopJan   chan struct{}
	closeOnce sync.Once
}

// New returns a pool with no instance running (scaled to zero).
func New(opts Options) *Pool {
	opts.defaults()
	p := &Pool{
		opts: opts,
		spec: processSpec{path: opts.Path, dir: opts.Dir, root: opts.Root, args: opts.Args,
			workerPath: opts.WorkerPath, workerArgs: opts.WorkerArgs, env: opts.Env, cred: opts.Credential},
		log:     opts.Logger.With("app", opts.App),
		stopJan: make(chan struct{}),
	}
	p.probe = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: time.Second}
	p.wg.Add(1)
	go p.janitor()
	return p
}

// Call sends req to an instance, starting one if none runs, and reads the
// response's head into resp; the body streams from the returned reader.
// req's URI is the handler path and query; without a Host header the
// instance's address is sent. The instance, the connection and resp's
// body stream are held until the reader is closed; the context ends the
// call at any point (a timeout, the caller gone).
func (p *Pool) Call(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) (io.ReadCloser, error) {
	inst, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if len(req.Header.Host()) == 0 {
		req.Header.Set(fasthttp.HeaderHost, inst.addr)
	}
	body, err := inst.client.roundTrip(ctx, req, resp, p, inst)
	if err != nil {
		p.release(inst, false)
		return nil, p.explain(inst, err)
	}
	return body, nil
}

// explain labels a transport error caused by the process dying.
func (p *Pool) explain(inst *instance, err error) error {
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-inst.exited:
		return fmt.Errorf("%w: instance %s (%s): %v", ErrCrashed, inst.id, exitStatus(inst.exitErr), err)
	case <-t.C:
		return fmt.Errorf("call handler instance %s: %w", inst.id, err)
	}
}

// acquire returns the least-loaded ready instance, starting instances as
// the load and the limits call for. A request that finds every instance at
// ScaleOutAt waits for the instance being started, unless MaxInstances is
// reached or a start just failed: then it overflows onto the least loaded.
func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	overflow := false
	for {
		inst, wait, err := p.pick(overflow)
		if err != nil || inst != nil {
			return inst, err
		}
		select {
		case <-wait.ready:
		case <-ctx.Done():
			return nil, p.notReady(wait, ctx)
		}
		if wait.startErr != nil {
			if overflow {
				return nil, wait.startErr
			}
			overflow = true
		}
	}
}

// notReady explains why a request gave up waiting for inst.
func (p *Pool) notReady(inst *instance, ctx context.Context) error {
	p.mu.Lock()
	until, crashes, since := inst.delayedUntil, inst.crashes, inst.queuedAt
	p.mu.Unlock()
	if time.Now().Before(until) {
		return fmt.Errorf("%w: the handler is restarting after %d consecutive crashes and waits until %s before starting again (%v)",
			ErrNotReady, crashes, until.UTC().Format(time.RFC3339Nano), context.Cause(ctx))
	}
	return fmt.Errorf("%w: the handler was still starting (started %s ago; start timeout %s) (%v)",
		ErrNotReady, time.Since(since).Round(time.Millisecond), p.opts.StartTimeout, context.Cause(ctx))
}

// pick takes a slot on a ready instance, or returns one being started to
// wait for.
func (p *Pool) pick(overflow bool) (*instance, *instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, ErrClosed
	}
	best, live, starting := p.scanLocked()
	full := best == nil || best.inflight >= p.opts.ScaleOutAt
	if full && starting == nil && live < p.opts.MaxInstances {
		starting = p.startLocked()
	}
	if best != nil && (!full || overflow || starting == nil) {
		best.inflight++
		best.lastUsed = time.Now()
		return best, nil, nil
	}
	if starting == nil {
		return nil, nil, errors.New("no handler instance available")
	}
	return nil, starting, nil
}

// scanLocked finds the least-loaded ready instance of the current
// generation, counts live ones, and finds one still starting.
func (p *Pool) scanLocked() (best *instance, live int, starting *instance) {
	for _, in := range p.instances {
		if in.gen != p.gen || in.retiring || in.hasExited() {
			continue
		}
		live++
		select {
		case <-in.ready:
			if in.startErr == nil && (best == nil || in.inflight < best.inflight) {
				best = in
			}
		default:
			starting = in
		}
	}
	return best, live, starting
}

func (p *Pool) startLocked() *instance {
	p.nextID++
	inst := newInstance(p.opts.App+"-"+strconv.Itoa(p.nextID), p.gen, p.log)
	p.instances = append(p.instances, inst)
	delay := backoff(p.crashes)
	inst.crashes = p.crashes
	inst.queuedAt = time.Now()
	if delay > 0 {
		inst.delayedUntil = inst.queuedAt.Add(delay)
	}
	p.wg.Add(1)
	go p.run(inst, delay)
	return inst
}

// backoff is the delay before a start after n consecutive crashes.
func backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	return min(50*time.Millisecond<<(n-2), 10*time.Second)
}

// run starts inst after delay, waits for readiness, then for its exit.
func (p *Pool) run(inst *instance, delay time.Duration) {
	defer p.wg.Done()
	if delay > 0 {
		inst.log.Warn("delaying handler restart after crashes", "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-p.stopJan:
			t.Stop()
		}
	}
	if err := p.launch(inst); err != nil {
		inst.startErr = err
		close(inst.ready)
		close(inst.exited)
		p.exitedInstance(inst, true)
		return
	}
	inst.waitReady(context.Background(), p.probe, p.opts.StartTimeout)
	if inst.startErr != nil {
		inst.log.Error("handler failed to start", "err", inst.startErr)
		inst.stop(p.opts.StopGrace)
	} else {
		p.mu.Lock()
		inst.readyAt = time.Now()
		inst.lastUsed = inst.readyAt // idle from now, not since the zero time
		p.mu.Unlock()
	}
	<-inst.exited
	p.exitedInstance(inst, inst.startErr != nil)
}

func (p *Pool) launch(inst *instance) error {
	p.mu.Lock()
	cancelled := p.closed || inst.retiring
	p.mu.Unlock()
	if cancelled {
		return ErrClosed
	}
	return inst.launch(p.spec, &p.wg)
}

// exitedInstance removes inst and counts a crash unless it was stopped.
func (p *Pool) exitedInstance(inst *instance, failedStart bool) {
	if inst.client != nil {
		inst.client.closeIdle()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, in := range p.instances {
		if in == inst {
			p.instances = append(p.instances[:i], p.instances[i+1:]...)
			break
		}
	}
	switch {
	case inst.retiring || p.closed:
	case failedStart || time.Since(inst.start) < p.opts.StableAfter:
		p.crashes++
		inst.log.Warn("handler crashed", "status", exitStatus(inst.exitErr), "consecutiveCrashes", p.crashes)
	default:
		p.crashes = 1
		inst.log.Warn("handler crashed", "status", exitStatus(inst.exitErr))
	}
}

func (p *Pool) release(inst *instance, served bool) {
	p.mu.Lock()
	inst.inflight--
	inst.lastUsed = time.Now()
	stop := inst.retiring && inst.inflight == 0
	if served {
		p.crashes = 0 // it served a request: the crash loop, if any, is over
	}
	p.mu.Unlock()
	if stop {
		p.stopAsync(inst)
	}
}

func (p *Pool) stopAsync(inst *instance) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		inst.stop(p.opts.StopGrace)
	}()
}
