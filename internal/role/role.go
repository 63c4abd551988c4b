// Package role holds a region's place in the deployment: primary or
// secondary, the epoch that granted it and the lease that bounds it. The
// traffic manager (the witness) sets it through POST /admin/role; timers and
// primary-only writes consult it before acting, so a region whose lease has
// lapsed, or that was superseded by a newer epoch, stops by itself.
package role

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// Role is primary or secondary.
type Role string

// The roles a region can hold.
const (
	Primary   Role = "primary"
	Secondary Role = "secondary"
)

// State is a region's role as last granted.
type State struct {
	Region string `json:"region"`
	Role   Role   `json:"role"`
	Epoch  uint64 `json:"epoch"`
	// Primary names the region that is primary at Epoch, so a secondary
	// knows whom to replicate from ("" until a witness says).
	Primary string `json:"primary,omitempty"`
	// PrevPrimary is the primary before Primary's term: a region becoming
	// primary whose data predates that term must take it over first.
	PrevPrimary string `json:"prevPrimary,omitempty"`
	// LeaseUntil bounds a primary's role; zero means no lease (a standalone
	// region at epoch 0 that no witness has spoken to).
	LeaseUntil time.Time `json:"leaseUntil"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// Decider is the traffic manager whose grant this region last
	// accepted, at UpdatedAt.
	Decider string `json:"decider,omitempty"`
	// Terms are this region's latest terms as primary, oldest first: the
	// evidence that no two regions were ever active primaries at once.
	Terms []Term `json:"terms,omitempty"`
}

// Term is one epoch for which a region was primary: from Since until its
// lease ran out or it stepped down (Ended), whichever came first.
type Term struct {
	Epoch      uint64    `json:"epoch"`
	Since      time.Time `json:"since"`
	LeaseUntil time.Time `json:"leaseUntil"`
	Ended      time.Time `json:"ended,omitzero"`
}

// End is when the term stopped letting the region act as primary.
func (t Term) End() time.Time {
	if !t.Ended.IsZero() && t.Ended.Before(t.LeaseUntil) {
		return t.Ended
	}
	return t.LeaseUntil
}

// termsKept bounds State.Terms.
const termsKept = 16

// nextTerms records a grant in the terms: a new term for a new epoch as
// primary, a longer lease for the same one, an end for a step-down.
func nextTerms(cur State, next State, now time.Time) []Term {
	terms := append([]Term(nil), cur.Terms...)
	last := len(terms) - 1
	switch {
	case next.Role == Primary && last >= 0 && terms[last].Epoch == next.Epoch:
		terms[last].LeaseUntil = later(terms[last].LeaseUntil, next.LeaseUntil)
	case next.Role == Primary:
		terms = append(terms, Term{Epoch: next.Epoch, Since: now, LeaseUntil: next.LeaseUntil})
	case cur.Role == Primary && last >= 0 && terms[last].Epoch == cur.Epoch && terms[last].Ended.IsZero():
		terms[last].Ended = now
	}
	if n := len(terms); n > termsKept {
		terms = terms[n-termsKept:]
	}
	return terms
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ActiveAt reports whether the state lets a region act as primary at now.
func (s State) ActiveAt(now time.Time) bool {
	if s.Role != Primary {
		return false
	}
	return s.LeaseUntil.IsZero() || now.Before(s.LeaseUntil)
}

// Request is the body of POST /admin/role.
type Request struct {
	Role       Role      `json:"role"`
	Epoch      uint64    `json:"epoch"`
	LeaseUntil time.Time `json:"leaseUntil"`
	// Primary optionally names the primary at Epoch (for a secondary).
	Primary string `json:"primary,omitempty"`
	// Decider names the traffic manager that sends the request.
	Decider string `json:"decider,omitempty"`
}

// ErrStaleEpoch is returned for a request that an equal or newer epoch supersedes.
var ErrStaleEpoch = errors.New("stale epoch")

// Validate checks a request's fields.
func (r Request) Validate() error {
	switch r.Role {
	case Primary:
		if r.LeaseUntil.IsZero() {
			return errors.New(`field "leaseUntil": required for role "primary"`)
		}
	case Secondary:
	default:
		return fmt.Errorf(`field "role": %q is not "primary" or "secondary"`, r.Role)
	}
	if r.Epoch == 0 {
		return errors.New(`field "epoch": must be at least 1`)
	}
	return nil
}

// renewal reports whether r renews the primary role cur holds.
func renewal(cur State, r Request) bool {
	return r.Role == Primary && cur.Role == Primary && r.Epoch == cur.Epoch
}

// admits says whether cur accepts r: a newer epoch always; the same epoch
// only to renew the same role or to step down from primary.
func admits(cur State, r Request) bool {
	switch {
	case r.Epoch > cur.Epoch:
		return true
	case r.Epoch < cur.Epoch:
		return false
	default:
		return r.Role == cur.Role || r.Role == Secondary
	}
}

// Options configures a Manager.
type Options struct {
	Region string
	JS     jetstream.JetStream
	Bucket string // KV bucket, e.g. broker.Name(region, "role")
	// Replicas for the bucket on a clustered NATS (default 1).
	Replicas int
	Clock    clock.Clock
	Initial  State // used when nothing is stored yet
	Logger   *slog.Logger
}

// Manager keeps the region's role in KV, so every node of the region and
// every restart sees the same epoch.
type Manager struct {
	opts Options
	kv   jetstream.KeyValue

	mu    sync.Mutex
	state State
	rev   uint64
	subs  map[int]func(State)
	next  int

	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
}

const stateKey = "state"

// New returns a Manager; Start loads and watches the stored role.
func New(opts Options) *Manager {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Initial.Region = opts.Region
	if opts.Initial.Role == Primary {
		opts.Initial.Primary = opts.Region
	}
	return &Manager{opts: opts, state: opts.Initial, subs: map[int]func(State){}}
}

// Start opens the bucket, stores the initial state if none is stored, and
// watches for changes made by other nodes of the region.
func (m *Manager) Start(ctx context.Context) error {
	// On a cluster a bucket just created has no leader for a moment (no
	// responders): opening and loading are safe to repeat.
	var kv jetstream.KeyValue
	err := broker.RetryTransient(ctx, "open role bucket", func(ctx context.Context) error {
		var err error
		kv, err = m.opts.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: m.opts.Bucket, History: 1, Replicas: max(m.opts.Replicas, 1)})
		return err
	})
	if err != nil {
		return fmt.Errorf("role start: bucket %s: %w", m.opts.Bucket, err)
	}
	m.kv = kv
	if err := broker.RetryTransient(ctx, "load role", m.load); err != nil {
		return fmt.Errorf("role start: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	w, err := kv.Watch(wctx, stateKey, jetstream.UpdatesOnly())
	if err != nil {
		cancel()
		return fmt.Errorf("role start: watch: %w", err)
	}
	m.cancel = cancel
	m.wg.Add(1)
	go m.watch(w)
	return nil
}

func (m *Manager) load(ctx context.Context) error {
	e, err := m.kv.Get(ctx, stateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		m.opts.Initial.UpdatedAt = m.opts.Clock.Now()
		rev, cerr := m.kv.Create(ctx, stateKey, mustJSON(m.opts.Initial))
		if cerr != nil && !errors.Is(cerr, jetstream.ErrKeyExists) {
			return fmt.Errorf("store initial role: %w", cerr)
		}
		if cerr == nil {
			m.set(m.opts.Initial, rev)
			return nil
		}
		e, err = m.kv.Get(ctx, stateKey)
	}
	if err != nil {
		return fmt.Errorf("load role: %w", err)
	}
	return m.setEntry(e)
}

func (m *Manager) watch(w jetstream.KeyWatcher) {
	defer m.wg.Done()
	defer func() { _ = w.Stop() }()
	for e := range w.Updates() {
		if e == nil || e.Operation() != jetstream.KeyValuePut {
			continue
		}
		if err := m.setEntry(e); err != nil {
			m.opts.Logger.Warn("role watch", "err", err)
		}
	}
}

func (m *Manager) setEntry(e jetstream.KeyValueEntry) error {
	var s State
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return fmt.Errorf("decode stored role: %w", err)
	}
	m.set(s, e.Revision())
	return nil
}

// set installs s if rev is newer than what is held, then tells subscribers.
func (m *Manager) set(s State, rev uint64) {
	m.mu.Lock()
	if rev <= m.rev {
		m.mu.Unlock()
		return
	}
	m.state, m.rev = s, rev
	subs := make([]func(State), 0, len(m.subs))
	for _, f := range m.subs {
		subs = append(subs, f)
	}
	m.mu.Unlock()
	for _, f := range subs {
		f(s)
	}
}

// State returns the current role.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Active reports whether the region may act as primary now.
func (m *Manager) Active() bool { return m.State().ActiveAt(m.opts.Clock.Now()) }

// Subscribe calls f after every change of state; cancel stops it.
func (m *Manager) Subscribe(f func(State)) (cancel func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	m.subs[id] = f
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// Apply grants the role in r if its epoch admits it, storing it with a
// compare-and-set so concurrent nodes cannot both win.
func (m *Manager) Apply(ctx context.Context, r Request) (State, error) {
	if err := r.Validate(); err != nil {
		return State{}, err
	}
	for {
		m.mu.Lock()
		cur, rev := m.state, m.rev
		m.mu.Unlock()
		if !admits(cur, r) {
			return cur, fmt.Errorf("role %s at epoch %d: %w (region is %s at epoch %d)", r.Role, r.Epoch, ErrStaleEpoch, cur.Role, cur.Epoch)
		}
		now := m.opts.Clock.Now()
		next := State{Region: m.opts.Region, Role: r.Role, Epoch: r.Epoch, Primary: r.Primary, LeaseUntil: r.LeaseUntil, UpdatedAt: now, Decider: r.Decider}
		if r.Role == Secondary {
			next.LeaseUntil = time.Time{}
		} else {
			next.Primary = m.opts.Region
		}
		if renewal(cur, r) && cur.LeaseUntil.After(next.LeaseUntil) {
			// A lease only grows within an epoch: a renewal that arrives
			// late (its sender hung between deciding and sending) must not
			// cut short the lease a newer renewal granted.
			next.LeaseUntil = cur.LeaseUntil
		}
		if next.Primary == "" && r.Epoch == cur.Epoch {
			next.Primary = cur.Primary // a renewal or step-down keeps what is known
		}
		next.PrevPrimary = cur.PrevPrimary
		if cur.Primary != "" && next.Primary != "" && cur.Primary != next.Primary {
			next.PrevPrimary = cur.Primary
		}
		next.Terms = nextTerms(cur, next, now)
		nrev, err := m.kv.Update(ctx, stateKey, mustJSON(next), rev)
		if err == nil {
			m.set(next, nrev)
			m.logChange(cur, next)
			return next, nil
		}
		if !isWrongSequence(err) {
			return cur, fmt.Errorf("role apply: %w", err)
		}
		if err := m.reload(ctx); err != nil {
			return cur, err
		}
	}
}

func (m *Manager) logChange(from, to State) {
	if from.Role != to.Role || from.Epoch != to.Epoch {
		m.opts.Logger.Info("role changed", "region", m.opts.Region, "from", from.Role, "fromEpoch", from.Epoch, "to", to.Role, "epoch", to.Epoch, "leaseUntil", to.LeaseUntil)
	}
}

func (m *Manager) reload(ctx context.Context) error {
	e, err := m.kv.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("role reload: %w", err)
	}
	return m.setEntry(e)
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Ready reports whether the manager has loaded the stored role.
func (m *Manager) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev > 0
}

// Shutdown stops the watch. Safe to call twice.
func (m *Manager) Shutdown(context.Context) error {
	m.once.Do(func() {
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
	})
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // State always marshals
	}
	return b
}
