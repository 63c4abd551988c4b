package configsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// AuditEntry records one applied change. It never holds a value.
type AuditEntry struct {
	Time     time.Time `json:"time"`
	Region   string    `json:"region"` // where it was applied
	Source   string    `json:"source"` // the primary it came from
	App      string    `json:"app"`
	Class    Class     `json:"class"`
	Function string    `json:"function,omitempty"`
	Name     string    `json:"name"`
	Kind     Kind      `json:"kind"`
	By       string    `json:"by"` // continuous or api
}

// AuditQuery selects audit entries: the last Limit (default 100, at most
// 10,000) of app (all when empty) written at or after Since.
type AuditQuery struct {
	App   string
	Since time.Time
	Limit int
}

// auditLog is the region's <region>_audit stream (one subject per app).
type auditLog struct {
	b      *broker.Broker
	stream string
	log    *slog.Logger
}

func openAudit(ctx context.Context, b *broker.Broker, maxAge time.Duration, log *slog.Logger) (*auditLog, error) {
	name := b.Name("audit")
	_, err := b.JetStream().CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{b.Subject("audit", ">")}, Description: "configsync: applied changes (never values)",
		MaxAge: maxAge, MaxMsgs: 1_000_000, Discard: jetstream.DiscardOld, Replicas: b.Replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("open audit stream %s: %w", name, err)
	}
	return &auditLog{b: b, stream: name, log: log}, nil
}

// record logs the entry and appends it to the stream.
func (a *auditLog) record(ctx context.Context, e AuditEntry) error {
	a.log.Info("configsync change applied", "app", e.App, "class", e.Class, "function", e.Function,
		"name", e.Name, "kind", e.Kind, "source", e.Source, "by", e.By)
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := a.b.JetStream().Publish(ctx, a.b.Subject("audit", e.App), data); err != nil {
		return fmt.Errorf("audit %s %q of app %s: %w", e.Kind, e.Name, e.App, err)
	}
	return nil
}

// read returns the entries q selects, oldest first.
func (a *auditLog) read(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	q.Limit = min(max(q.Limit, 0), 10_000)
	if q.Limit == 0 {
		q.Limit = 100
	}
	cons, err := a.consumer(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	var out []AuditEntry
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		n, last := 0, uint64(0)
		for m := range batch.Messages() {
			n++
			last = pendingOf(m)
			var e AuditEntry
			if json.Unmarshal(m.Data(), &e) == nil {
				out = append(out, e)
			}
			if len(out) > q.Limit {
				out = out[1:]
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		if n == 0 || last == 0 {
			return out, nil
		}
	}
}

func (a *auditLog) consumer(ctx context.Context, q AuditQuery) (jetstream.Consumer, error) {
	subject := a.b.Subject("audit", ">")
	if q.App != "" {
		subject = a.b.Subject("audit", q.App)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !q.Since.IsZero() {
		since := q.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	return a.b.JetStream().OrderedConsumer(ctx, a.stream, cfg)
}

func pendingOf(m jetstream.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumPending
}

// Audit returns the audit entries q selects, oldest first.
func (s *Syncer) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	return s.audit.read(ctx, q)
}
