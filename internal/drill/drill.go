// Package drill measures a failover the way a user would live it: it runs
// client load against a deployment (GETs, POSTs that queue work, PUTs that
// write table entities, POSTs that write blobs a blob trigger counts, and
// the drill app's one-second timer), injects a
// fault into the primary region (kill -9, SIGSTOP, or a network
// partition), restores it, fails back, and then reads the replicated
// tables to count what was lost, delivered twice or fired twice.
package drill

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
)

// App is the app the drill drives (examples/drill).
const App = "drill"

// Options configures a drill.
type Options struct {
	Topology string // deployment file (written by tandem up)
	// Fault is kill, hang, partition, destroy, failover (planned
	// switches), or a control-plane fault: traffic-kill, traffic-hang,
	// traffic-partition, control-node.
	Fault  string
	Cycles int // with Fault "failover": switches there and back
	// Chain is how many primaries a region fault (kill, hang, partition,
	// destroy) hits in a row, each once its predecessor's successor is the
	// confirmed primary (default 1): with three regions and Chain 2 the
	// primary fails, then the region promoted in its place, and the third
	// leads.
	Chain int
	// Target is "primary" (for a control-plane fault: the deciding traffic
	// manager, or the control node leading the bucket) or a name.
	Target   string
	Duration time.Duration // how long the fault lasts
	Warmup   time.Duration // load before the fault
	Settle   time.Duration // most to wait for queues to drain after failback
	GetRate  int           // GETs per second
	PostRate int           // POSTs per second
	PutRate  int           // PUTs per second
	BlobRate int           // blob writes (POST /api/blob/{id}) per second
	Progress io.Writer     // a progress line per second; nil for none
	// RunID prefixes this run's work ids and entity keys; default a fresh
	// one, so drills in a row on one deployment never share ids.
	RunID string
}

func (o *Options) defaults() {
	if o.Fault == "" {
		o.Fault = "kill"
	}
	if o.Target == "" {
		o.Target = "primary"
	}
	if o.RunID == "" {
		o.RunID = newRunID()
	}
	setDur(&o.Duration, 10*time.Second)
	setDur(&o.Warmup, 3*time.Second)
	setDur(&o.Settle, 30*time.Second)
	setInt(&o.GetRate, 100)
	setInt(&o.PostRate, 20)
	setInt(&o.PutRate, 10)
	setInt(&o.BlobRate, 5)
	setInt(&o.Chain, 1)
}

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

func setInt(i *int, v int) {
	if *i == 0 {
		*i = v
	}
}

// Run performs a drill and returns its report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts.defaults()
	if err := validRunID(opts.RunID); err != nil {
		return nil, err
	}
	d, err := openDeployment(opts.Topology)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, d: d, load: newLoader(d.publics, opts.RunID)}
	return r.do(ctx)
}

type run struct {
	opts   Options
	d      *deployment
	load   *loader
	target string
	start  time.Time
	fault  time.Time
	heal   time.Time
	back   time.Time
	end    time.Time // the load stopped
	phase  atomic.Pointer[string]
	// handovers are the changes of primary the timer must survive.
	handovers []handover
	// Control-plane faults: the state before, when another manager
	// decided (-1: none did), and which.
	before       status
	newDecider   time.Duration
	deciderAfter string

	// restore is when the restore was asked for; ready when the restored
	// region was a seeded secondary.
	restore, ready time.Time
	// lagAtFault is the other region's mirror lag, in messages, just
	// before the fault (as of its last poll): in async mode, about what a
	// destroy can lose.
	lagAtFault int
}

func (r *run) do(ctx context.Context) (*Report, error) {
	st, err := r.d.status(ctx)
	if err != nil {
		return nil, fmt.Errorf("drill: traffic manager status: %w", err)
	}
	r.target = r.opts.Target
	if r.target == "primary" {
		r.target = st.Primary
	}
	if controlFault(r.opts.Fault) {
		if r.target, err = controlTarget(r.opts, st); err != nil {
			return nil, err
		}
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	r.start = time.Now()
	r.load.run(loadCtx, r.opts.GetRate, r.opts.PostRate, r.opts.PutRate, r.opts.BlobRate)
	stopProgress := r.progress(loadCtx)
	defer stopProgress()
	if err := r.sequence(ctx, st.Primary); err != nil {
		return nil, err
	}
	stopLoad()
	r.load.wait()
	r.end = time.Now()
	r.setPhase("settling")
	rep, err := r.report(ctx)
	if err == nil {
		r.d.publish(ctx, rep)
	}
	return rep, err
}

// sequence: warm up, inject, wait, restore, fail back, run a little more.
func (r *run) sequence(ctx context.Context, original string) error {
	r.setPhase("warmup")
	if err := sleep(ctx, r.opts.Warmup); err != nil {
		return err
	}
	if r.opts.Fault == "failover" {
		return r.cycles(ctx, original)
	}
	if controlFault(r.opts.Fault) {
		st, err := r.d.status(ctx)
		if err != nil {
			return fmt.Errorf("drill: status before the fault: %w", err)
		}
		return r.controlSequence(ctx, st)
	}
	r.lagAtFault = r.d.lag(ctx, r.otherRegion(r.target))
	r.fault = time.Now()
	targets, err := r.injectChain(ctx)
	if err != nil {
		return err
	}
	if err := sleep(ctx, r.opts.Duration); err != nil {
		return err
	}
	r.restore = time.Now()
	for _, t := range targets {
		r.setPhase("restore " + t)
		if err := r.d.fault(ctx, "/restore", r.opts.Fault, t); err != nil {
			return fmt.Errorf("drill: restore %s: %w", t, err)
		}
	}
	r.heal = time.Now()
	if err := r.failback(ctx, original); err != nil {
		return err
	}
	if err := r.waitFollowers(ctx, original); err != nil {
		return err
	}
	r.setPhase("after failback")
	return sleep(ctx, 3*time.Second)
}

// injectChain faults the target, then (Chain > 1) each region promoted in
// its place once it is the confirmed primary, and returns the regions hit.
func (r *run) injectChain(ctx context.Context) ([]string, error) {
	targets := []string{r.target}
	for {
		t := targets[len(targets)-1]
		r.setPhase("fault:" + r.opts.Fault + " " + t)
		r.handovers = append(r.handovers, handover{at: time.Now(), from: t})
		if err := r.d.fault(ctx, "/fault", r.opts.Fault, t); err != nil {
			return nil, fmt.Errorf("drill: inject %s into %s: %w", r.opts.Fault, t, err)
		}
		if len(targets) >= r.opts.Chain {
			return targets, nil
		}
		next, err := r.nextPrimary(ctx, targets)
		if err != nil {
			return nil, err
		}
		targets = append(targets, next)
	}
}

// nextPrimary waits until a region not yet faulted is the confirmed
// primary.
func (r *run) nextPrimary(ctx context.Context, faulted []string) (string, error) {
	var next string
	err := poll(ctx, time.Minute, func() bool {
		st, err := r.d.status(ctx)
		if err != nil || slices.Contains(faulted, st.Primary) || !confirmedPrimary(st, st.Primary) {
			return false
		}
		next = st.Primary
		return r.d.replicationMode(ctx, next) == "primary"
	})
	if err != nil {
		return "", fmt.Errorf("drill: no region took over from %s: %w", faulted[len(faulted)-1], err)
	}
	return next, r.waitSurvivors(ctx, next, faulted)
}

// waitSurvivors waits until every region neither faulted nor primary is a
// seeded standby of the new primary: the next fault hits a deployment that
// recovered from the last. (A follower retargets its mirrors by copying
// the new primary's streams afresh, and until that copy is done it holds
// nothing to take over with; see internal/replicate/DESIGN.md.)
func (r *run) waitSurvivors(ctx context.Context, primary string, faulted []string) error {
	for _, reg := range r.d.top.Regions {
		if reg.Name == primary || slices.Contains(faulted, reg.Name) {
			continue
		}
		r.setPhase("waiting for " + reg.Name + " to follow " + primary)
		if err := poll(ctx, time.Minute, func() bool { return r.d.followsSeeded(ctx, reg.Name, primary) }); err != nil {
			return fmt.Errorf("drill: %s did not follow %s: %w", reg.Name, primary, err)
		}
	}
	return nil
}

// failback waits for the restored region to be a healthy secondary, then
// makes it primary again with a planned failover.
func (r *run) failback(ctx context.Context, original string) error {
	r.setPhase("waiting for " + original + " to rejoin")
	if err := poll(ctx, time.Minute, func() bool {
		st, err := r.d.status(ctx)
		return err == nil && healthySecondary(st, original)
	}); err != nil {
		return fmt.Errorf("drill: %s did not rejoin as a healthy secondary: %w", original, err)
	}
	if err := r.waitStandby(ctx, original); err != nil {
		return err
	}
	r.setPhase("failback to " + original)
	r.back = time.Now()
	if err := r.switchTo(ctx, original); err != nil {
		return fmt.Errorf("drill: fail back to %s: %w", original, err)
	}
	return nil
}

func healthySecondary(st status, name string) bool {
	if st.Primary == name {
		return true
	}
	for _, e := range st.Endpoints {
		if e.Name == name {
			return e.Healthy && e.RoleConfirmed
		}
	}
	return false
}

func (r *run) setPhase(p string) { r.phase.Store(&p) }

func (r *run) currentPhase() string {
	if p := r.phase.Load(); p != nil {
		return *p
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func poll(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// cycles switches the primary there and back Cycles times with planned
// failovers (drain, zero lag, switch), under the same load.
func (r *run) cycles(ctx context.Context, original string) error {
	other := r.otherRegion(original)
	if other == "" {
		return fmt.Errorf("drill: failover cycles need a second region")
	}
	r.fault = time.Now()
	for i := 0; i < max(r.opts.Cycles, 1); i++ {
		for _, to := range []string{other, original} {
			r.setPhase(fmt.Sprintf("cycle %d: to %s", i+1, to))
			if err := r.switchTo(ctx, to); err != nil {
				return fmt.Errorf("drill: cycle %d: %w", i+1, err)
			}
		}
	}
	r.heal, r.back = time.Now(), time.Now()
	r.setPhase("after the cycles")
	return sleep(ctx, 3*time.Second)
}

func (r *run) otherRegion(name string) string {
	for _, reg := range r.d.top.Regions {
		if reg.Name != name {
			return reg.Name
		}
	}
	return ""
}

// switchTo fails over to a region with a planned switch and waits until it
// is the confirmed primary.
func (r *run) switchTo(ctx context.Context, to string) error {
	if err := poll(ctx, time.Minute, func() bool {
		st, err := r.d.status(ctx)
		return err == nil && healthySecondary(st, to)
	}); err != nil {
		return fmt.Errorf("%s not a healthy secondary: %w", to, err)
	}
	from := r.otherRegion(to)
	if st, err := r.d.status(ctx); err == nil && st.Primary != "" && st.Primary != to {
		from = st.Primary
	}
	r.handovers = append(r.handovers, handover{at: time.Now(), to: to})
	if err := r.d.failover(ctx, to); err != nil {
		return err
	}
	return poll(ctx, time.Minute, func() bool {
		st, err := r.d.status(ctx)
		return err == nil && confirmedPrimary(st, to) &&
			r.d.replicationMode(ctx, to) == "primary" && r.d.replicationMode(ctx, from) == "secondary"
	})
}

func confirmedPrimary(st status, name string) bool {
	for _, e := range st.Endpoints {
		if e.Name == name {
			return st.Primary == name && e.Role == "primary" && e.RoleConfirmed
		}
	}
	return false
}
