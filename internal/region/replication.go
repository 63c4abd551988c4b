package region

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/role"
)

// replication is the region's side of running in tandem. It follows the
// region's role: a secondary mirrors the primary's data; a primary whose
// lease is live promotes those mirrors (dropping already-processed
// messages), runs its queue triggers and records their progress; a
// primary whose lease lapsed stops processing (fenced); an old primary told
// it is now secondary rescues what only it had, then becomes a mirror.
type replication struct {
	r *Region

	mu          sync.Mutex
	mode        string // "", "primary", "fenced", "secondary"
	lastPrimary string // the primary of the latest role seen
	mirror      *replicate.Mirrorer
	progress    *replicate.Progress
	waiter      *replicate.Waiter
	reaper      *replicate.Reaper // frees what absent standbys' mirror consumers hold
	leaseTimer  *time.Timer
	retry       *time.Timer

	kick   chan struct{}
	stop   chan struct{}
	ctx    context.Context // ends at shutdown: no transition outlives the region
	cancel context.CancelFunc
	wg     sync.WaitGroup
	unsub  func()
	closed sync.Once
}

func (r *Region) startReplication() {
	rep := &replication{r: r, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	rep.ctx, rep.cancel = context.WithCancel(context.Background())
	rep.lastPrimary = r.role.State().Primary
	r.repl = rep
	rep.unsub = r.role.Subscribe(func(role.State) { rep.poke() })
	rep.wg.Add(1)
	go rep.loop()
	rep.poke()
}

func (rep *replication) poke() {
	select {
	case rep.kick <- struct{}{}:
	default:
	}
}

// loop applies the latest role, one transition at a time.
func (rep *replication) loop() {
	defer rep.wg.Done()
	for {
		select {
		case <-rep.stop:
			return
		case <-rep.kick:
			rep.apply(rep.r.role.State())
		}
	}
}

func (rep *replication) apply(s role.State) {
	ctx, cancel := context.WithTimeout(rep.ctx, 30*time.Second)
	defer cancel()
	var err error
	now := rep.r.opts.Clock.Now()
	switch {
	case s.ActiveAt(now):
		err = rep.becomePrimary(ctx, s)
		rep.armLease(s)
	case s.Role == role.Primary, s.Primary == "" || s.Primary == rep.r.opts.Name:
		err = rep.fence(ctx) // lease lapsed, or stepped down before a new primary is named
	case s.Role == role.Secondary && s.Primary != "" && s.Primary != rep.r.opts.Name:
		err = rep.becomeSecondary(ctx, s.Primary)
	}
	if s.Primary != "" {
		rep.locked(func() { rep.lastPrimary = s.Primary })
	}
	if err != nil && rep.ctx.Err() == nil {
		rep.r.log.Error("role transition failed; retrying in 1s", "role", s.Role, "epoch", s.Epoch, "err", err)
		rep.retryLater()
	}
}

// retryLater pokes the loop again after a second, so a transition that
// failed (a peer mid-switch, a timeout) is tried again.
func (rep *replication) retryLater() {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if rep.retry != nil {
		rep.retry.Stop()
	}
	rep.retry = time.AfterFunc(time.Second, rep.poke)
}

// armLease re-checks the role when the lease runs out, so a primary that
// is not renewed fences itself even if nothing else happens.
func (rep *replication) armLease(s role.State) {
	if s.LeaseUntil.IsZero() {
		return
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if rep.leaseTimer != nil {
		rep.leaseTimer.Stop()
	}
	rep.leaseTimer = time.AfterFunc(time.Until(s.LeaseUntil)+time.Millisecond, rep.poke)
}

func (rep *replication) becomePrimary(ctx context.Context, s role.State) error {
	if rep.mode == "primary" {
		return nil
	}
	from := rep.mode
	if err := rep.takeOver(ctx, s); err != nil {
		return err
	}
	if err := rep.promote(ctx); err != nil {
		return err
	}
	if err := rep.r.declareAll(ctx); err != nil {
		return err
	}
	if err := rep.startPrimaryParts(ctx); err != nil {
		rep.stopPrimaryParts(ctx) // roll back what started; the transition is retried
		return err
	}
	rep.locked(func() { rep.mode = "primary" })
	rep.r.setQueueTriggers(true)
	rep.r.log.Info("acting as primary", "epoch", s.Epoch, "was", orNone(from))
	return nil
}

// takeOver makes sure this region holds the previous primary's data before
// it promotes: if another region was primary since this one last followed
// or led (the role moved on while it was hung or restarting), it rejoins
// that region first (rescue, reseed, follow), so promotion then waits for
// zero lag and takes over its data.
func (rep *replication) takeOver(ctx context.Context, s role.State) error {
	prev := s.PrevPrimary
	self := rep.r.opts.Name
	if prev == "" || prev == self {
		return nil
	}
	if rep.mode == "secondary" && rep.mirror != nil && rep.lastPrimary == prev {
		return nil // already following it
	}
	rep.r.log.Info("taking over from the previous primary before promotion", "previous", prev, "epoch", s.Epoch)
	if err := rep.becomeSecondary(ctx, prev); err != nil {
		return fmt.Errorf("take over from %s: %w", prev, err)
	}
	rep.locked(func() { rep.lastPrimary = prev })
	return nil
}

// promote turns mirrors of the previous primary into writable streams,
// dropping the messages the replicated progress says were processed.
func (rep *replication) promote(ctx context.Context) error {
	old := rep.lastPrimary
	defer rep.r.svc.forgetHandles()
	if rep.mirror != nil {
		rep.waitCaughtUp(ctx)
		report, err := rep.mirror.Promote(ctx)
		if err != nil {
			return fmt.Errorf("promote mirrors of %s: %w", old, err)
		}
		_ = rep.mirror.Shutdown(ctx)
		rep.locked(func() { rep.mirror = nil })
		rep.r.log.Info("mirrors promoted", "from", old, "streams", len(report.Streams))
		return nil
	}
	if old == "" || old == rep.r.opts.Name {
		return nil
	}
	report, err := replicate.Promote(ctx, replicate.PromoteOptions{Broker: rep.r.broker, Primary: old, Clock: rep.r.opts.Clock, Logger: rep.r.log})
	if err != nil {
		return fmt.Errorf("promote mirrors of %s: %w", old, err)
	}
	rep.r.log.Info("mirrors promoted", "from", old, "streams", len(report.Streams))
	return nil
}

func (rep *replication) startPrimaryParts(ctx context.Context) error {
	p, err := replicate.NewProgress(replicate.ProgressOptions{Broker: rep.r.broker, Replicas: rep.r.broker.Replicas(), Clock: rep.r.opts.Clock, Logger: rep.r.log})
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	rp, err := replicate.NewReaper(replicate.ReaperOptions{Broker: rep.r.broker, Clock: rep.r.opts.Clock, Logger: rep.r.log})
	if err != nil {
		return err
	}
	if err := rp.Start(ctx); err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	rep.mu.Lock()
	rep.progress, rep.reaper = p, rp
	rep.mu.Unlock()
	if len(rep.r.opts.SyncApps) == 0 || len(rep.r.opts.Peers) == 0 {
		return nil
	}
	need, err := SyncStandbys(rep.r.opts.SyncStandbys, len(rep.r.opts.Peers))
	if err != nil {
		return err
	}
	w, err := replicate.NewWaiter(replicate.WaiterOptions{Broker: rep.r.broker, Secondaries: rep.r.opts.Peers, Required: need, Logger: rep.r.log})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("sync waiter: %w", err)
	}
	rep.mu.Lock()
	rep.waiter = w
	rep.mu.Unlock()
	return nil
}

// fence stops queue processing when the lease lapsed; timers gate
// themselves on the same lease.
func (rep *replication) fence(ctx context.Context) error {
	if rep.mode != "primary" {
		return nil
	}
	rep.r.setQueueTriggers(false)
	rep.stopPrimaryParts(ctx)
	rep.locked(func() { rep.mode = "fenced" })
	rep.r.log.Warn("primary lease lapsed: queue processing and writes stopped until the witness renews it")
	return nil
}

func (rep *replication) stopPrimaryParts(ctx context.Context) {
	rep.mu.Lock()
	p, w, rp := rep.progress, rep.waiter, rep.reaper
	rep.progress, rep.waiter, rep.reaper = nil, nil, nil
	rep.mu.Unlock()
	if rp != nil {
		_ = rp.Shutdown(ctx)
	}
	if p != nil {
		_ = p.Flush(ctx)
		_ = p.Shutdown(ctx)
	}
	if w != nil {
		_ = w.Shutdown(ctx)
	}
}

func (rep *replication) becomeSecondary(ctx context.Context, primary string) error {
	if rep.mode == "secondary" && rep.mirror != nil && rep.lastPrimary == primary {
		return nil
	}
	wasPrimary := rep.mode == "primary" || rep.mode == "fenced" || rep.lastPrimary == rep.r.opts.Name
	rep.r.setQueueTriggers(false)
	rep.stopPrimaryParts(ctx)
	if err := replicate.WaitLinked(ctx, rep.r.broker, primary); err != nil {
		return fmt.Errorf("link to %s: %w", primary, err)
	}
	if wasPrimary {
		if err := rep.rejoin(ctx, primary); err != nil {
			return err
		}
	}
	return rep.follow(ctx, primary)
}

// rejoin rescues the tail only this old primary has, then reseeds its
// streams as mirrors of the new primary.
func (rep *replication) rejoin(ctx context.Context, primary string) error {
	rescued, err := replicate.RescueTail(ctx, replicate.RescueOptions{Broker: rep.r.broker, NewPrimary: primary, Logger: rep.r.log})
	if err != nil {
		return fmt.Errorf("rescue tail into %s: %w", primary, err)
	}
	defer rep.r.svc.forgetHandles()
	if _, err := replicate.Reseed(ctx, replicate.ReseedOptions{Broker: rep.r.broker, NewPrimary: primary, Rescued: rescued, Replicas: rep.r.broker.Replicas(), Logger: rep.r.log}); err != nil {
		return fmt.Errorf("reseed from %s: %w", primary, err)
	}
	rep.r.log.Info("rejoined as secondary", "primary", primary)
	return nil
}

func (rep *replication) follow(ctx context.Context, primary string) error {
	if rep.mirror != nil {
		_ = rep.mirror.Shutdown(ctx)
		rep.locked(func() { rep.mirror = nil })
	}
	m, err := replicate.New(replicate.Options{Broker: rep.r.broker, Primary: primary, Replicas: rep.r.broker.Replicas(), PollInterval: 200 * time.Millisecond,
		Registerer: rep.r.reg, Clock: rep.r.opts.Clock, Logger: rep.r.log})
	if err != nil {
		return err
	}
	if err := m.Start(ctx); err != nil {
		return fmt.Errorf("mirror %s: %w", primary, err)
	}
	rep.locked(func() { rep.mirror = m })
	rep.locked(func() { rep.mode = "secondary" })
	rep.r.log.Info("acting as secondary", "primary", primary)
	return nil
}

// onAck records a processed queue message (queue.Options.OnAck).
func (rep *replication) onAck(app, queue string, seq uint64) {
	rep.mu.Lock()
	p := rep.progress
	rep.mu.Unlock()
	if p != nil {
		p.OnAck(app, queue, seq)
	}
}

// waitQueue and waitTable make sync-mode writes wait for the secondaries.
func (rep *replication) waitQueue(ctx context.Context, app, queue string, seq uint64) error {
	if w := rep.syncWaiter(app); w != nil {
		return w.WaitQueue(ctx, app, queue, seq)
	}
	return nil
}

func (rep *replication) waitTable(ctx context.Context, app, table, etag string) error {
	w := rep.syncWaiter(app)
	switch {
	case w == nil:
		return nil
	case etag == "": // a delete or a transaction: all the table holds now
		return w.WaitTableLatest(ctx, app, table)
	}
	return w.WaitTable(ctx, app, table, etag)
}

// waitBlob makes a sync-mode blob write wait for the secondaries: seq is
// the last message the write stored in its container's stream (its
// record, after the data chunks it names).
func (rep *replication) waitBlob(ctx context.Context, app, stream string, seq uint64) error {
	if w := rep.syncWaiter(app); w != nil {
		return w.WaitReplicated(ctx, stream, seq)
	}
	return nil
}

// waitReceipt makes a blob trigger receipt write (its KV revision) wait
// for the secondaries in sync mode.
func (rep *replication) waitReceipt(ctx context.Context, app string, rev uint64) error {
	if w := rep.syncWaiter(app); w != nil {
		return w.WaitReplicated(ctx, "KV_"+replicate.ReceiptBucket(rep.r.opts.Name), rev)
	}
	return nil
}

func (rep *replication) syncWaiter(app string) *replicate.Waiter {
	if !rep.r.syncApp(app) {
		return nil
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.waiter
}

func (rep *replication) shutdown(ctx context.Context) error {
	var errs []error
	rep.closed.Do(func() {
		if rep.unsub != nil {
			rep.unsub()
		}
		rep.cancel()
		close(rep.stop)
		rep.wg.Wait()
		rep.mu.Lock()
		if rep.leaseTimer != nil {
			rep.leaseTimer.Stop()
		}
		if rep.retry != nil {
			rep.retry.Stop()
		}
		rep.mu.Unlock()
		rep.stopPrimaryParts(ctx)
		if rep.mirror != nil {
			errs = append(errs, rep.mirror.Shutdown(ctx))
		}
	})
	return errors.Join(errs...)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// waitCaughtUp holds a promotion until every mirror has everything its
// origin has, while the old primary still answers (a planned switch: the
// old primary has stepped down, so the lag only shrinks). When the old
// primary does not answer (dead, hung or cut off) it cannot catch up, and
// the promotion goes ahead at once with what was replicated: the
// async-mode loss that failback rescues.
func (rep *replication) waitCaughtUp(ctx context.Context) {
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if !rep.primaryAnswers(ctx) {
			rep.r.log.Info("old primary does not answer: promoting with what was replicated", "primary", rep.lastPrimary)
			return
		}
		st, ok := within(300*time.Millisecond, rep.mirror.Status)
		if ok && st.Updated.After(start) && caughtUp(st) {
			rep.r.log.Info("mirrors caught up before promotion", "waited", time.Since(start).Round(time.Millisecond))
			return
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return
		}
	}
	rep.r.log.Warn("promoting with mirrors still behind an answering primary", "waited", time.Since(start))
}

// primaryAnswers asks the old primary's JetStream API across the
// leafnode, giving up after 300 ms whatever the client library does.
func (rep *replication) primaryAnswers(ctx context.Context) bool {
	return rep.r.regionAnswers(ctx, rep.lastPrimary)
}

// regionAnswers asks another region's JetStream API across the leafnode,
// giving up after 300 ms whatever the client library does.
func (r *Region) regionAnswers(ctx context.Context, region string) bool {
	ok, done := within(300*time.Millisecond, func() bool {
		js, err := replicate.Domain(r.broker, region)
		if err != nil {
			return false
		}
		actx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		defer cancel()
		_, err = js.AccountInfo(actx)
		return err == nil
	})
	return done && ok
}

// within runs f, returning its result and true if it finished within d.
// A late f finishes in the background (it must not block forever).
func within[T any](d time.Duration, f func() T) (T, bool) {
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-t.C:
		var zero T
		return zero, false
	}
}

func caughtUp(st replicate.Status) bool {
	if !st.Ready {
		return false
	}
	for _, m := range st.Mirrors {
		if m.LagMessages > 0 || !m.Active {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ReplicationStatus is the body of GET /admin/replication.
type ReplicationStatus struct {
	Region  string            `json:"region"`
	Mode    string            `json:"mode"` // primary, fenced, secondary, or "" (waiting for a role)
	Primary string            `json:"primary"`
	Mirrors *replicate.Status `json:"mirrors,omitempty"`
	// HeldWrites are writes waiting for this region to become the
	// promoted primary (up to WriteHold).
	HeldWrites int64 `json:"heldWrites"`
}

// Status reports the region's replication state and mirror lag.
func (rep *replication) status() ReplicationStatus {
	rep.mu.Lock()
	st := ReplicationStatus{Region: rep.r.opts.Name, Mode: rep.mode, Primary: rep.lastPrimary, HeldWrites: rep.r.held.Load()}
	m := rep.mirror
	rep.mu.Unlock()
	if m != nil {
		ms := m.Status()
		st.Mirrors = &ms
	}
	return st
}

// locked runs f under rep.mu: the loop goroutine is the only writer of
// mode, mirror and lastPrimary, and status reads them from others.
func (rep *replication) locked(f func()) {
	rep.mu.Lock()
	f()
	rep.mu.Unlock()
	rep.r.notifyGate()
}

func (rep *replication) isPrimary() bool {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.mode == "primary"
}

// primaryGate is the role timers see: active only while the role is
// active AND replication has promoted this region, so no timer writes its
// status into a bucket that is still a mirror.
type primaryGate struct{ r *Region }

func (g primaryGate) Active() bool      { return g.r.writable() }
func (g primaryGate) State() role.State { return g.r.role.State() }

// Subscribe notifies on role changes; replication pokes subscribers again
// when its mode changes (see replication.notify).
func (g primaryGate) Subscribe(f func(role.State)) func() {
	cancelRole := g.r.role.Subscribe(f)
	g.r.gateMu.Lock()
	id := len(g.r.gateSubs)
	g.r.gateSubs = append(g.r.gateSubs, f)
	g.r.gateMu.Unlock()
	return func() {
		cancelRole()
		g.r.gateMu.Lock()
		g.r.gateSubs[id] = nil
		g.r.gateMu.Unlock()
	}
}

// notify tells gate subscribers (timers) that the replication mode changed.
func (r *Region) notifyGate() {
	r.gateMu.Lock()
	subs := append([]func(role.State){}, r.gateSubs...)
	r.gateMu.Unlock()
	s := r.role.State()
	for _, f := range subs {
		if f != nil {
			f(s)
		}
	}
}

// SyncStandbys resolves Options.SyncStandbys for a region with peers
// other regions: how many must store a sync-mode write.
func SyncStandbys(v string, peers int) (int, error) {
	switch v {
	case "", "quorum":
		return (peers + 1) / 2, nil // with the primary, a majority of peers+1 regions
	case "one":
		return min(1, peers), nil
	case "all":
		return peers, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > peers {
		return 0, fmt.Errorf("sync standbys %q: want one, quorum, all or a number from 1 to %d (the peers)", v, peers)
	}
	return n, nil
}
