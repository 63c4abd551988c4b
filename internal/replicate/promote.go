package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// PromoteOptions configures Promote.
type PromoteOptions struct {
	// Broker is the region being promoted (the secondary).
	Broker *broker.Broker
	// Primary is the old primary whose mirrors become writable streams.
	Primary string
	Clock   clock.Clock
	Logger  *slog.Logger
}

// PromoteReport says what Promote did to each stream.
type PromoteReport struct {
	Region  string           `json:"region"`
	From    string           `json:"from"`
	Streams []PromotedStream `json:"streams"`
}

// PromotedStream is one promoted mirror.
type PromotedStream struct {
	Stream string `json:"stream"`
	Origin string `json:"origin"`
	Kind   Kind   `json:"kind"`
	// LastSeq is the last sequence copied from the origin; new writes get
	// sequences after it (RescueTail uses it at failback).
	LastSeq uint64 `json:"lastSeq"`
	// Floor, Dropped and Kept are for queues: the replicated ack floor,
	// the messages dropped as already processed in the old primary, and
	// the messages left to process. For a bucket, Dropped counts the
	// messages of an incomplete atomic batch deleted (batch.go).
	Floor   uint64 `json:"floor,omitempty"`
	Dropped uint64 `json:"dropped,omitempty"`
	Kept    uint64 `json:"kept,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Promote turns this region's mirrors of opts.Primary into writable
// streams and buckets in the region's own namespace. Buckets go first
// (the progress bucket first of all, as it records what follows); then
// for each queue it purges up to the replicated ack floor, deletes the
// recorded out-of-order acks, rewrites the queue's progress record so it
// names no sequence the promoted stream will reuse, records the
// promotion, and makes the stream writable. Each step is idempotent, so a
// Promote that failed half-way is simply run again.
//
// The caller (the failover) must hold the primary role at a newer epoch:
// the witness guarantees the old primary's lease expired, so it no longer
// writes. Services must reopen their stream and bucket handles afterwards.
func Promote(ctx context.Context, opts PromoteOptions) (*PromoteReport, error) {
	p, err := newPromoter(opts)
	if err != nil {
		return nil, err
	}
	return p.run(ctx)
}

type promoter struct {
	opts     PromoteOptions
	region   string
	js       jetstream.JetStream
	log      *slog.Logger
	progress jetstream.KeyValue
	report   PromoteReport
}

func newPromoter(opts PromoteOptions) (*promoter, error) {
	if opts.Broker == nil {
		return nil, errors.New("promote: Options.Broker is required")
	}
	if err := broker.ValidRegion(opts.Primary); err != nil {
		return nil, fmt.Errorf("promote: old primary: %w", err)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	region := opts.Broker.Region()
	return &promoter{
		opts: opts, region: region, js: opts.Broker.JetStream(),
		log:    opts.Logger.With("component", "replicate", "step", "promote", "region", region, "from", opts.Primary),
		report: PromoteReport{Region: region, From: opts.Primary},
	}, nil
}

func (p *promoter) run(ctx context.Context) (*PromoteReport, error) {
	mirrors, err := p.mirrors(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	p.warnIfReachable(ctx)
	p.log.Info("promotion started", "mirrors", len(mirrors))
	var errs []error
	for _, info := range mirrors {
		if err := p.promoteOne(ctx, info); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.openProgress(ctx); err != nil && len(errs) == 0 {
		errs = append(errs, err) // no mirrors, but the bucket must exist for failback
	}
	if len(errs) == 0 {
		if err := p.markPromoted(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	p.log.Info("promotion finished", "streams", len(p.report.Streams), "errors", len(errs))
	return &p.report, errors.Join(errs...)
}

// mirrors lists the local mirrors of the old primary: the progress bucket
// first, then the other buckets, then queues.
func (p *promoter) mirrors(ctx context.Context) ([]*jetstream.StreamInfo, error) {
	l := p.js.ListStreams(ctx)
	var out []*jetstream.StreamInfo
	for info := range l.Info() {
		origin, region, ok := originOf(info.Config)
		if _, mine := classify(p.opts.Primary, origin); ok && mine && region == p.opts.Primary {
			out = append(out, info)
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list local streams: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return promoteOrder(out[i]) < promoteOrder(out[j]) })
	return out, nil
}

func promoteOrder(info *jetstream.StreamInfo) string {
	origin, _, _ := originOf(info.Config)
	switch {
	case strings.HasSuffix(origin, "_progress"):
		return "0" + origin
	case strings.HasPrefix(origin, kvPrefix), strings.HasPrefix(origin, objPrefix):
		return "1" + origin
	}
	return "2" + origin
}

// warnIfReachable logs when the old primary still answers: promotion goes
// on (the witness guarantees its lease expired, so it stopped writing),
// but an operator should know both regions are up.
func (p *promoter) warnIfReachable(ctx context.Context) {
	js, err := Domain(p.opts.Broker, p.opts.Primary)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err == nil {
		p.log.Warn("old primary still reachable; promoting on the witness's word that its lease expired")
	}
}

// promoteOne promotes one mirror and adds it to the report.
func (p *promoter) promoteOne(ctx context.Context, info *jetstream.StreamInfo) error {
	origin, _, _ := originOf(info.Config)
	kind, _ := classify(p.opts.Primary, origin)
	ps := PromotedStream{Stream: info.Config.Name, Origin: origin, Kind: kind, LastSeq: info.State.LastSeq}
	err := p.promoteKind(ctx, info, &ps)
	if err != nil {
		ps.Error = err.Error()
		p.log.Error("stream not promoted", "stream", ps.Stream, "err", err)
	} else {
		p.log.Info("stream promoted", "stream", ps.Stream, "origin", origin, "kind", kind,
			"lastSeq", ps.LastSeq, "floor", ps.Floor, "dropped", ps.Dropped, "kept", ps.Kept)
	}
	p.report.Streams = append(p.report.Streams, ps)
	return err
}

func (p *promoter) promoteKind(ctx context.Context, info *jetstream.StreamInfo, ps *PromotedStream) error {
	if ps.Kind == KindProgress {
		if err := promoteStream(ctx, p.js, info.Config, p.opts.Primary); err != nil {
			return err
		}
		if err := p.openProgress(ctx); err != nil {
			return err
		}
		return p.recordPromotion(ctx, ps)
	}
	if err := p.openProgress(ctx); err != nil {
		return err
	}
	if ps.Kind == KindQueue {
		if err := p.dropProcessed(ctx, info, ps); err != nil {
			return err
		}
	} else if err := p.trimBatch(ctx, info, ps); err != nil {
		return err
	}
	if err := p.recordPromotion(ctx, ps); err != nil {
		return err
	}
	// Before it is writable (and mirrored by anyone): see holdWorkQueue.
	if err := holdWorkQueue(ctx, p.js, info.Config); err != nil {
		return fmt.Errorf("promote %s: %w", info.Config.Name, err)
	}
	return promoteStream(ctx, p.js, info.Config, p.opts.Primary)
}

// promoteStream drops a mirror's guard and makes the mirror a normal
// stream listening on the destinations of its subject transforms (the
// local namespace).
func promoteStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, from string) error {
	if err := dropGuard(ctx, js, regionOf(cfg.Name), cfg.Name); err != nil {
		return fmt.Errorf("promote %s: %w", cfg.Name, err)
	}
	cfg.Subjects = promotedSubjects(cfg)
	cfg.Mirror, cfg.RePublish, cfg.MirrorDirect = nil, nil, false
	if cfg.Metadata != nil {
		cfg.Metadata["tandem.promoted.from"] = from + "/" + cfg.Metadata[metaOrigin]
		delete(cfg.Metadata, metaOrigin)
		delete(cfg.Metadata, metaDomain)
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("promote %s: update stream: %w", cfg.Name, err)
	}
	return nil
}

// openProgress opens (creating if needed) the local progress bucket.
func (p *promoter) openProgress(ctx context.Context) error {
	if p.progress != nil {
		return nil
	}
	kv, err := openProgressBucket(ctx, p.js, p.region, 1)
	if err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	p.progress = kv
	return nil
}
