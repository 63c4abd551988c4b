package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/role"
	"github.com/tandemhq/tandem/internal/table"
	"github.com/tandemhq/tandem/internal/timer"
)

// services are the region's stores, each owning its JetStream streams or
// buckets: keys, settings, queues and tables.
type services struct {
	r          *Region
	queues     *queue.Service
	tables     *table.Service
	blobs      *blob.Service
	timers     *timer.Scheduler
	keyed      keyServices
	packages   packageService // app packages (deploy.go)
	configsync configSync     // settings and keys replication (configsync.go)
}

func (r *Region) startServices(ctx context.Context) error {
	r.svc.r = r
	q, err := queue.New(queue.Options{Broker: r.broker, Clock: r.opts.Clock, Logger: r.log, OnAck: r.onAck, Processed: r.processed})
	if err != nil {
		return fmt.Errorf("queues: %w", err)
	}
	r.svc.queues = q
	t, err := table.New(table.Options{Broker: r.broker, Clock: r.opts.Clock, Logger: r.log, PathPrefix: "/tables", Replicas: r.broker.Replicas(),
		WriteGate: r.awaitWritable, ReadOnly: r.isSecondary, Settled: r.roleSettled, GeoReplication: r.tableGeoReplication,
		Stored: func(ctx context.Context, app, table, etag string) error {
			return r.repl.waitTable(ctx, app, table, etag)
		}})
	if err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	r.svc.tables = t
	if r.svc.blobs, err = r.newBlobs(); err != nil {
		return err
	}
	if err := r.startScheduler(ctx); err != nil {
		return fmt.Errorf("timers: %w", err)
	}
	if err := r.svc.keyed.start(ctx, r); err != nil {
		return err
	}
	return r.startConfigSync(ctx)
}

func (s *services) shutdown(ctx context.Context) error {
	var errs []error
	if s.timers != nil {
		errs = append(errs, s.timers.Shutdown(ctx))
	}
	if s.queues != nil {
		errs = append(errs, s.queues.Shutdown(ctx))
	}
	errs = append(errs, s.configsync.shutdown(ctx))
	errs = append(errs, s.keyed.shutdown(ctx))
	return errors.Join(errs...)
}

// prepareApp seeds settings and keys, declares queues and tables, and
// creates the app's storage account.
func (s *services) prepareApp(ctx context.Context, app *funcapp.App) error {
	if err := s.keyed.prepare(ctx, app); err != nil {
		return err
	}
	if err := s.queues.SetConfig(app.Name, queueConfig(app.Host.Queues)); err != nil {
		return fmt.Errorf("host.json extensions.queues: %w", err)
	}
	if !s.r.role.Active() {
		return nil // a secondary's streams are mirrors; declared when it becomes primary
	}
	return s.declareApp(ctx, app)
}

// declareApp creates the app's storage account, and the queues and tables
// its bindings name: done by the active primary only.
func (s *services) declareApp(ctx context.Context, app *funcapp.App) error {
	if _, err := s.tables.EnsureAccount(ctx, app.Name); err != nil {
		return fmt.Errorf("table account: %w", err)
	}
	return s.declare(ctx, app)
}

// declare creates the queues and tables that bindings name literally.
func (s *services) declare(ctx context.Context, app *funcapp.App) error {
	for _, fn := range app.Functions {
		for _, b := range fn.Bindings {
			if err := s.declareBinding(ctx, app.Name, fn, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *services) declareBinding(ctx context.Context, app string, fn *funcapp.Function, b funcapp.Binding) error {
	switch b.Kind() {
	case funcapp.Queue, funcapp.QueueTrigger:
		if isExpression(b.QueueName) {
			return nil
		}
		if err := s.queues.Declare(ctx, app, bindingQueue(b.QueueName)); err != nil {
			return fmt.Errorf("%s/function.json: binding %q: field \"queueName\": %w", fn.Name, b.Name, err)
		}
	case funcapp.Table:
		if isExpression(b.TableName) {
			return nil
		}
		if err := s.tables.EnsureTable(ctx, app, b.TableName); err != nil {
			return fmt.Errorf("%s/function.json: binding %q: field \"tableName\": %w", fn.Name, b.Name, err)
		}
	}
	return nil
}

func isExpression(s string) bool {
	for _, c := range s {
		if c == '{' || c == '%' {
			return true
		}
	}
	return false
}

func queueConfig(c funcapp.QueueConfig) queue.Config {
	cfg := queue.DefaultConfig()
	cfg.BatchSize = c.BatchSize
	if c.NewBatchThreshold >= 0 {
		cfg.NewBatchThreshold = c.NewBatchThreshold
	} else {
		cfg.NewBatchThreshold = c.BatchSize / 2
	}
	cfg.MaxPollingInterval = c.MaxPollingInterval
	cfg.VisibilityTimeout = c.VisibilityTimeout
	cfg.MaxDequeueCount = c.MaxDequeueCount
	cfg.MessageEncoding = queue.Encoding(c.MessageEncoding)
	return cfg
}

func (s *services) binders() map[string]invoke.Binder {
	return map[string]invoke.Binder{
		funcapp.Queue: queueBinder{s.queues, s.r},
		funcapp.Table: tableBinder{s.tables, s.r},
		funcapp.Blob:  blobBinder{s.blobs, s.r},
	}
}

func (s *services) registerAdmin(mux *http.ServeMux) {
	s.queues.RegisterAdmin(mux)
	s.registerTableAdmin(mux) // blobs.go; the storage answer is queuerest.go's serveStorage
	s.keyed.registerAdmin(mux)
	s.packages.registerAdmin(mux)
	s.configsync.registerAdmin(mux)
}

// registerPublic mounts endpoints with their own authentication.
func (s *services) registerPublic(mux *http.ServeMux) {
	mux.Handle("/tables/", s.tables.Handler())
	s.r.registerQueueREST(mux) // queuerest.go
	mux.Handle(blob.DefaultPathPrefix+"/", s.blobs.Handler())
}

// queueBinder writes queue output bindings.
type queueBinder struct {
	q *queue.Service
	r *Region
}

func (b queueBinder) Input(context.Context, string, funcapp.Binding, invoke.Expressions) (json.RawMessage, error) {
	return nil, errors.New("queue bindings are output only; use a queueTrigger to read")
}

// Admit holds or refuses a function with a queue output before it runs.
func (b queueBinder) Admit(ctx context.Context, _ string, _ funcapp.Binding) error {
	return b.r.awaitWritable(ctx)
}

func (b queueBinder) Output(ctx context.Context, app string, fb funcapp.Binding, e invoke.Expressions, v json.RawMessage) error {
	if err := b.r.awaitWritable(ctx); err != nil {
		return err
	}
	name, err := e.Resolve(fb.QueueName)
	if err != nil {
		return err
	}
	name = bindingQueue(name)
	msgs, err := b.q.EnqueueOutput(ctx, app, name, v)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := b.r.repl.waitQueue(ctx, app, name, m.Sequence); err != nil {
			return fmt.Errorf("sync replication of queue %s: %w", name, err)
		}
	}
	return nil
}

// tableBinder reads table input bindings and writes table outputs.
type tableBinder struct {
	t *table.Service
	r *Region
}

func (b tableBinder) Input(ctx context.Context, app string, fb funcapp.Binding, e invoke.Expressions) (json.RawMessage, error) {
	name, pk, rk, filter, err := resolveTable(fb, e)
	if err != nil {
		return nil, err
	}
	if rk != "" {
		ent, err := b.t.Get(ctx, app, name, pk, rk)
		if errors.Is(err, table.ErrNotFound) {
			return json.RawMessage("null"), nil
		}
		if err != nil {
			return nil, err
		}
		return table.BindingJSON(ent), nil
	}
	list, err := b.t.Query(ctx, app, name, table.BindingFilter(pk, filter), fb.Take)
	if err != nil {
		return nil, err
	}
	return table.BindingArrayJSON(list), nil
}

// Admit holds or refuses a function with a table output before it runs.
func (b tableBinder) Admit(ctx context.Context, _ string, _ funcapp.Binding) error {
	return b.r.awaitWritable(ctx)
}

func (b tableBinder) Output(ctx context.Context, app string, fb funcapp.Binding, e invoke.Expressions, v json.RawMessage) error {
	name, pk, rk, _, err := resolveTable(fb, e)
	if err != nil {
		return err
	}
	if err := b.r.awaitWritable(ctx); err != nil {
		return err
	}
	ents, err := table.DecodeBindingEntities(v, pk, rk)
	if err != nil {
		return err
	}
	stored, err := b.t.InsertAll(ctx, app, name, ents)
	if err != nil {
		return err
	}
	for _, e := range stored {
		if err := b.r.repl.waitTable(ctx, app, name, e.ETag); err != nil {
			return fmt.Errorf("sync replication of table %s: %w", name, err)
		}
	}
	return nil
}

// resolveTable resolves a table binding's expressions; the filter's are
// substituted as OData literals (table.BindFilter), never as OData text.
func resolveTable(fb funcapp.Binding, e invoke.Expressions) (name, pk, rk, filter string, err error) {
	for _, f := range []struct {
		dst *string
		src string
	}{{&name, fb.TableName}, {&pk, fb.PartitionKey}, {&rk, fb.RowKey}} {
		if *f.dst, err = e.Resolve(f.src); err != nil {
			return
		}
	}
	if filter, err = table.BindFilter(fb.Filter, e.Value); err != nil {
		err = fmt.Errorf("field \"filter\": %w", err)
	}
	return
}

// forgetHandles drops cached stream and bucket handles after streams were
// promoted or reseeded underneath the services.
func (s *services) forgetHandles() {
	s.queues.Forget()
	s.tables.Forget()
	s.blobs.Forget()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.timers.ReopenStatus(ctx); err != nil {
		s.r.log.Warn("reopen timer status after a failover step", "err", err)
	}
}

// ErrNotPrimary refuses a write in a region that is not the active
// primary (a secondary, or a primary whose lease lapsed).
var ErrNotPrimary = errors.New("this region is not the active primary: writes are refused")

// writable reports whether the region may write as primary now: its role
// is active and its replication has finished becoming primary (mirrors
// promoted). Timers use the same gate (primaryGate).
func (r *Region) writable() bool {
	return r.role.Active() && r.repl != nil && r.repl.isPrimary()
}

// awaitWritable holds a write while the region is not (yet) the promoted
// primary, up to WriteHold: during a failover a write reaching the new
// primary waits for its promotion instead of failing, and runs only once
// it is primary. Past the hold it is refused. A secondary whose primary
// answers refuses at once (a *NotPrimaryError naming the primary: 503
// with Retry-After; the traffic manager's proxy sends the write there),
// never writing through a mirror; one whose primary does not answer (dead,
// hung, cut off) holds like a region about to be promoted, which it may
// well be. A primary that stepped down before its successor is named (a
// planned switch) holds too, until the role names the successor.
func (r *Region) awaitWritable(ctx context.Context) error {
	if r.writable() {
		return nil
	}
	r.held.Add(1)
	defer r.held.Add(-1)
	start := time.Now()
	var asked time.Time    // when the named primary was last asked
	var answer <-chan bool // the pending ask, asked in the background
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !r.writable() {
		s := r.role.State()
		if answer == nil && followsAnother(s, r.opts.Name) && time.Since(asked) >= primaryRecheck {
			asked, answer = time.Now(), r.askRegion(ctx, s.Primary)
		}
		if held := time.Since(start); held > r.opts.WriteHold {
			return r.notPrimary(s, held.Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ok := <-answer:
			answer = nil
			if s := r.role.State(); ok && followsAnother(s, r.opts.Name) && !r.writable() {
				return r.notPrimary(s, time.Since(start).Round(time.Millisecond))
			}
		case <-tick.C:
		}
	}
	return nil
}

// askRegion asks in the background whether region answers (regionAnswers).
func (r *Region) askRegion(ctx context.Context, region string) <-chan bool {
	ch := make(chan bool, 1)
	go func() { ch <- r.regionAnswers(ctx, region) }()
	return ch
}

// primaryRecheck is how often a held write in a secondary asks whether
// the primary answers again.
const primaryRecheck = 250 * time.Millisecond

// followsAnother: the role is secondary of a region other than this one.
func followsAnother(s role.State, self string) bool {
	return s.Role == role.Secondary && s.Primary != "" && s.Primary != self
}

// declareAll declares every loaded app's storage (on becoming primary).
func (r *Region) declareAll(ctx context.Context) error {
	r.mu.Lock()
	apps := make([]*funcapp.App, 0, len(r.apps))
	for _, rt := range r.apps {
		apps = append(apps, rt.app)
	}
	r.mu.Unlock()
	for _, a := range apps {
		if err := r.svc.declareApp(ctx, a); err != nil {
			return fmt.Errorf("app %s: %w", a.Name, err)
		}
	}
	return nil
}

// processed is the primary's progress on a queue, as mirrored here: a
// secondary's queue length and peek leave those messages out.
func (r *Region) processed(ctx context.Context, app, queue string) (uint64, [][2]uint64, error) {
	p, err := replicate.ReadProcessed(ctx, r.broker, app, queue)
	return p.Floor, p.Acked, err
}

func (r *Region) onAck(app, queue string, seq uint64) {
	if r.repl != nil {
		r.repl.onAck(app, queue, seq)
	}
}
