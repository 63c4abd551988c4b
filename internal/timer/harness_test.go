package timer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
	"github.com/tandemhq/tandem/internal/role"
)

// harness is a region on a real embedded broker with a fake clock: a role
// manager and any number of scheduler nodes sharing the broker.
type harness struct {
	t      *testing.T
	dir    string
	b      *broker.Broker
	clk    *clock.Fake
	role   *role.Manager
	nodes  []*Scheduler
	leaseT time.Duration
	recs   []*recorder
	gone   int // runs started by nodes since stopped
}

// recorder returns a recorder whose calls settle waits for.
func (h *harness) recorder() *recorder {
	r := &recorder{clk: h.clk}
	h.recs = append(h.recs, r)
	return r
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, dir: t.TempDir(), clk: clock.NewFake(t0), leaseT: 15 * time.Second}
	h.startRegion()
	h.setRole(role.Primary, 1, t0.Add(365*24*time.Hour))
	return h
}

func (h *harness) startRegion() {
	b, err := broker.Start(context.Background(), broker.Options{Region: "east", Dir: h.dir})
	if err != nil {
		h.t.Fatal(err)
	}
	h.b = b
	h.t.Cleanup(b.Shutdown)
	h.role = role.New(role.Options{Region: "east", JS: b.JetStream(), Bucket: b.Name("role"), Clock: h.clk,
		Initial: role.State{Role: role.Secondary}})
	if err := h.role.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = h.role.Shutdown(context.Background()) })
}

// restartRegion stops every node, the role manager and the broker, then
// starts the broker again on the same directory.
func (h *harness) restartRegion() {
	h.stopNodes()
	_ = h.role.Shutdown(context.Background())
	h.b.Shutdown()
	h.startRegion()
}

func (h *harness) stopNodes() {
	for _, n := range h.nodes {
		if err := n.Shutdown(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		started, _ := n.runs()
		h.gone += started
	}
	h.nodes = nil
}

func (h *harness) setRole(r role.Role, epoch uint64, until time.Time) {
	h.t.Helper()
	if _, err := h.role.Apply(context.Background(), role.Request{Role: r, Epoch: epoch, LeaseUntil: until}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) node(id string) *Scheduler {
	h.t.Helper()
	s, err := New(Options{Clock: h.clk, JS: h.b.JetStream(), StatusBucket: h.b.Name("timers"),
		LeaseBucket: h.b.Name("timerlease"), NodeID: id, Role: h.role, LeaseTTL: h.leaseT})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.nodes = append(h.nodes, s)
	h.t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func (h *harness) add(s *Scheduler, spec Spec, fire FireFunc) {
	h.t.Helper()
	if err := s.Add("app1", "Tick", spec, fire); err != nil {
		h.t.Fatal(err)
	}
}

// settle waits until every node's timers are idle and every run started
// has either returned or is blocked on purpose (never by sleeping a fixed
// time: it polls a condition with a deadline).
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, all, runs, calls, live, held := h.clk.Now(), true, h.gone, 0, 0, 0
		for _, n := range h.nodes {
			all = all && n.settled(now)
			started, l := n.runs()
			runs, live = runs+started, live+l
		}
		for _, r := range h.recs {
			c, b := r.counts()
			calls, held = calls+c, held+b
		}
		if all && runs == calls && live == held {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timers did not settle at %s", now.Format(time.TimeOnly))
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// drain waits until no invocation is running (after releasing held ones).
func (h *harness) drain() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		live := 0
		for _, n := range h.nodes {
			_, l := n.runs()
			live += l
		}
		if live == 0 {
			h.settle()
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d runs still going", live)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// runUntil moves the fake clock to end, stopping at every armed deadline
// so each timer wakes exactly when it asked to.
func (h *harness) runUntil(end time.Time) {
	h.t.Helper()
	for {
		h.settle()
		next, ok := h.clk.NextDeadline()
		if !ok || next.After(end) {
			h.clk.Set(end)
			h.settle()
			return
		}
		h.clk.Set(next)
	}
}

// call is one invocation seen by a recorder.
type call struct {
	node string
	at   time.Time
	info Info
}

// recorder is a FireFunc factory that records calls; with hold set, each
// call blocks until release.
type recorder struct {
	clk      *clock.Fake
	mu       sync.Mutex
	calls    []call
	inFlight int
	maxIn    int
	blocked  int // calls waiting on hold
	hold     chan struct{}
}

func (r *recorder) counts() (calls, blocked int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls), r.blocked
}

func (r *recorder) fire(node string) FireFunc {
	return func(ctx context.Context, info Info) error {
		r.mu.Lock()
		r.calls = append(r.calls, call{node, r.clk.Now(), info})
		r.inFlight++
		r.maxIn = max(r.maxIn, r.inFlight)
		hold := r.hold
		r.mu.Unlock()
		if hold != nil {
			r.block(hold, ctx)
		}
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
		return nil
	}
}

// block waits on hold, counted as blocked only while it really waits.
func (r *recorder) block(hold chan struct{}, ctx context.Context) {
	select {
	case <-hold:
		return
	default:
	}
	r.mu.Lock()
	r.blocked++
	r.mu.Unlock()
	select {
	case <-hold:
	case <-ctx.Done():
	}
	r.mu.Lock()
	r.blocked--
	r.mu.Unlock()
}

func (r *recorder) seen() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// kv opens the region's timer buckets directly, as another region or a
// crashed node would have left them.
func (h *harness) kv() *store {
	h.t.Helper()
	ctx := context.Background()
	st := &store{timeout: 5 * time.Second}
	var err error
	status, err := openBucket(ctx, h.b.JetStream(), h.b.Name("timers"), 1)
	if err == nil {
		st.status.Store(&status)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	if st.lease, err = openBucket(ctx, h.b.JetStream(), h.b.Name("timerlease"), 1); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// statusOf reads the stored status of app1/Tick.
func (h *harness) statusOf() *record {
	h.t.Helper()
	rec, _, err := h.kv().getStatus(context.Background(), key("app1", "Tick"))
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

func (h *harness) putStatus(r record) {
	h.t.Helper()
	if _, err := h.kv().putStatus(context.Background(), key("app1", "Tick"), r, 0); err != nil {
		h.t.Fatal(err)
	}
}
