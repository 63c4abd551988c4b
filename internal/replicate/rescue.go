package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// RescueOptions configures RescueTail.
type RescueOptions struct {
	// Broker is the returning old primary (this region), demoted: nothing
	// writes to its streams any more.
	Broker *broker.Broker
	// NewPrimary is the region that was promoted in its place.
	NewPrimary string
	Logger     *slog.Logger
}

// RescueReport says what RescueTail did per stream.
type RescueReport struct {
	Region     string          `json:"region"`
	NewPrimary string          `json:"newPrimary"`
	Streams    []RescuedStream `json:"streams"`
}

// RescuedStream is one stream of the old primary.
type RescuedStream struct {
	Stream string `json:"stream"` // in this region
	Target string `json:"target"` // in the new primary
	Kind   Kind   `json:"kind"`
	// From is the first sequence of the tail: the new primary's mirror had
	// everything before it when it was promoted.
	From uint64 `json:"from"`
	// Tail counts the messages (queues) or keys (buckets) found in it.
	Tail uint64 `json:"tail"`
	// Queues: stored anew, and already there (same message id within the
	// new primary's dedupe window).
	Republished uint64 `json:"republished,omitempty"`
	Duplicates  uint64 `json:"duplicates,omitempty"`
	// Processed counts a stale mirror's messages skipped because the
	// failed primary recorded them as processed.
	Processed uint64 `json:"processed,omitempty"`
	// Buckets: writes applied, already present, and keys the new primary
	// changed since the promotion (its value is kept).
	Applied   uint64   `json:"applied,omitempty"`
	Unchanged uint64   `json:"unchanged,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
	Created   bool     `json:"created,omitempty"` // target created for the tail
	Error     string   `json:"error,omitempty"`
	// since is the first sequence of the new primary's line written after
	// the promotion from this stream's region: a key or object of the new
	// primary at or after it was written there (a conflict). It is From,
	// unless a stale mirror's rescue moved From further (tailStart).
	since uint64
}

// Failed reports whether any stream could not be rescued.
func (r *RescueReport) Failed() bool {
	for _, s := range r.Streams {
		if s.Error != "" {
			return true
		}
	}
	return false
}

// rescuer holds what RescueTail needs for every stream.
type rescuer struct {
	opts     RescueOptions
	region   string
	local    jetstream.JetStream
	remote   jetstream.JetStream // the new primary's domain
	progress jetstream.KeyValue  // the new primary's progress bucket, once promoted
	log      *slog.Logger
}

// RescueTail finds, in a returning old primary, what it stored but never
// replicated (sequences after the last one the new primary's mirror had
// at promotion, as recorded by Promote) and writes it into the new
// primary. Queue messages are republished with their original headers, so
// their Nats-Msg-Id makes the new primary drop copies it already has (a
// client that retried there). Bucket writes follow one rule: a key the new
// primary has not written since the promotion takes the old primary's
// last value (put or delete, compare-and-set on the new primary's
// revision); a key it has written keeps its value and is reported as a
// conflict. A stream the new primary lacks is created first. The progress
// bucket is not rescued: it describes the old primary's own sequences.
// Run it before Reseed, with the link to the new primary up.
func RescueTail(ctx context.Context, opts RescueOptions) (*RescueReport, error) {
	r, err := newRescuer(opts)
	if err != nil {
		return nil, err
	}
	report := &RescueReport{Region: r.region, NewPrimary: opts.NewPrimary}
	if err := r.waitPromoted(ctx); err != nil {
		return nil, fmt.Errorf("rescue tail: %w", err)
	}
	streams, err := nativeStreams(ctx, r.local, r.region)
	if err != nil {
		return nil, fmt.Errorf("rescue tail: %w", err)
	}
	var errs []error
	for _, info := range streams {
		if kind, _ := classify(r.region, info.Config.Name); kind == KindProgress {
			continue
		}
		rs := r.rescue(ctx, info)
		if rs.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", rs.Stream, rs.Error))
		}
		report.Streams = append(report.Streams, rs)
	}
	return report, errors.Join(errs...)
}

func newRescuer(opts RescueOptions) (*rescuer, error) {
	if opts.Broker == nil {
		return nil, errors.New("rescue tail: Options.Broker is required")
	}
	if err := broker.ValidRegion(opts.NewPrimary); err != nil || opts.NewPrimary == opts.Broker.Region() {
		return nil, fmt.Errorf("rescue tail: new primary %q: invalid or this region", opts.NewPrimary)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	remote, err := Domain(opts.Broker, opts.NewPrimary)
	if err != nil {
		return nil, fmt.Errorf("rescue tail: %w", err)
	}
	return &rescuer{
		opts: opts, region: opts.Broker.Region(), local: opts.Broker.JetStream(), remote: remote,
		log: opts.Logger.With("component", "replicate", "step", "rescue", "region", opts.Broker.Region(), "newPrimary", opts.NewPrimary),
	}, nil
}

// nativeStreams lists region's own replicated-kind streams that are not
// mirrors, in name order.
func nativeStreams(ctx context.Context, js jetstream.JetStream, region string) ([]*jetstream.StreamInfo, error) {
	l := js.ListStreams(ctx)
	var out []*jetstream.StreamInfo
	for info := range l.Info() {
		if _, ok := classify(region, info.Config.Name); ok && info.Config.Mirror == nil {
			out = append(out, info)
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list local streams: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Config.Name < out[j].Config.Name })
	return out, nil
}

// rescue rescues one stream's tail.
func (r *rescuer) rescue(ctx context.Context, info *jetstream.StreamInfo) RescuedStream {
	kind, _ := classify(r.region, info.Config.Name)
	rs := RescuedStream{Stream: info.Config.Name, Target: rename(info.Config.Name, r.region, r.opts.NewPrimary), Kind: kind, From: 1, since: 1}
	if err := r.rescueStream(ctx, info, &rs, line{region: r.region, stream: info.Config.Name}); err != nil {
		rs.Error = err.Error()
		r.log.Error("tail not rescued", "stream", rs.Stream, "err", err)
		return rs
	}
	r.log.Info("tail rescued", "stream", rs.Stream, "target", rs.Target, "from", rs.From, "tail", rs.Tail,
		"republished", rs.Republished, "duplicates", rs.Duplicates, "applied", rs.Applied, "conflicts", len(rs.Conflicts))
	return rs
}

// line names where a stream's data came from: the region that wrote it
// and its stream there (for a region's own streams, itself), and, for a
// stale mirror's queue, what that region recorded as processed.
type line struct {
	region, stream string
	done           *record
}

func (r *rescuer) rescueStream(ctx context.Context, info *jetstream.StreamInfo, rs *RescuedStream, l line) error {
	if info.State.Msgs == 0 {
		return nil
	}
	if err := r.ensureTarget(ctx, info.Config, rs); err != nil {
		return err
	}
	if err := r.tailStart(ctx, rs, l); err != nil || info.State.LastSeq < rs.From {
		return err
	}
	st, err := r.local.Stream(ctx, rs.Stream)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	switch rs.Kind {
	case KindQueue:
		return r.republishTail(ctx, st, rs, info.State.LastSeq, l.done)
	case KindBlob:
		return r.applyObjectTail(ctx, st, rs, info.State.LastSeq)
	}
	return r.applyTail(ctx, st, rs, info.State.LastSeq)
}

// ensureTarget waits until the new primary's stream is promoted (its
// Promote may still be running: writing to a mirror is impossible, and a
// KV handle on one would write back into this region), or creates it when
// the new primary lacks it.
func (r *rescuer) ensureTarget(ctx context.Context, cfg jetstream.StreamConfig, rs *RescuedStream) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for sawMirror := false; ; {
		st, err := r.targetInfo(ctx, rs.Target)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			return r.createTarget(ctx, cfg, rs)
		case err == nil && st.CachedInfo().Config.Mirror == nil:
			return nil
		case err == nil:
			sawMirror = true
		}
		select {
		case <-ctx.Done():
			if sawMirror {
				return fmt.Errorf("target %s in %s is still a mirror (not promoted): %w", rs.Target, r.opts.NewPrimary, ctx.Err())
			}
			return fmt.Errorf("target %s: %w (last error: %v)", rs.Target, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// waitPromoted waits until the new primary finished promoting (its
// progress bucket is writable and holds a promotion marker; each target
// stream is checked again by ensureTarget). Before that its streams may be mirrors, or stale
// streams of its own about to be reseeded, and nothing may be written
// into them.
func (r *rescuer) waitPromoted(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		kv, why := r.promotedProgress(ctx)
		if kv != nil {
			r.progress = kv
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s has not finished promoting from %s (%s): %w", r.opts.NewPrimary, r.region, why, ctx.Err())
		case <-tick.C:
		}
	}
}

// promotedProgress returns the new primary's progress bucket once it
// carries this region's promotion marker, else why not.
func (r *rescuer) promotedProgress(ctx context.Context) (jetstream.KeyValue, string) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout) // a lost reply must not stall the wait
	defer cancel()
	kv, err := r.remote.KeyValue(ctx, ProgressBucket(r.opts.NewPrimary))
	if err != nil {
		return nil, err.Error()
	}
	if err := notMirror(ctx, kv); err != nil {
		return nil, err.Error()
	}
	e, err := kv.Get(ctx, markerKey)
	if err != nil {
		return nil, "promotion marker: " + err.Error()
	}
	if _, err := decodeMarker(e.Value()); err != nil {
		return nil, err.Error()
	}
	// The marker names this region, or (three or more regions) the region
	// promoted in this one's place that failed in turn: tailStart follows
	// the promotion records back to this region.
	return kv, ""
}

// targetInfo opens a stream of the new primary, bounding the round trip.
func (r *rescuer) targetInfo(ctx context.Context, name string) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return r.remote.Stream(ctx, name)
}

// tailStart sets rs.From from the promotion record of the stream that
// took over from l's: the tail starts after the last sequence that mirror
// had. The new primary's record names the region it promoted from; when
// that is not l's region (with three or more regions, the one promoted in
// its place failed in turn), its own record, which came over with its
// mirrored progress bucket, is looked up, and so on back (mirrors keep
// sequences, so every region of the line numbers the stream alike). A
// stale mirror rescued earlier moves the start past what it rescued
// (rescuedThrough). Without a record reaching l's region the whole stream
// is tail (duplicates are dropped by message id, and a key the new
// primary wrote keeps its value).
func (r *rescuer) tailStart(ctx context.Context, rs *RescuedStream, l line) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	name := rs.Target
	var visited []string
	for range maxLineage {
		visited = append(visited, name)
		e, err := r.progress.Get(ctx, promotedKey(name))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("promotion record of %s: %w", name, err)
		}
		p, err := decodePromotion(e.Value())
		if err != nil {
			return err
		}
		if p.From == l.region {
			if p.Origin == l.stream {
				rs.since = p.LastSeq + 1
				rs.From = max(p.LastSeq, r.rescuedThrough(ctx, visited, l)) + 1
			}
			return nil
		}
		name = p.Origin
	}
	return nil
}

// maxLineage bounds the promotion records tailStart follows.
const maxLineage = 8

// createTarget creates the stream in the new primary from this region's
// config moved into its namespace.
func (r *rescuer) createTarget(ctx context.Context, cfg jetstream.StreamConfig, rs *RescuedStream) error {
	tcfg, err := targetConfig(cfg, r.region, r.opts.NewPrimary)
	if err != nil {
		return err
	}
	if _, err := r.remote.CreateStream(ctx, tcfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create %s in %s: %w", rs.Target, r.opts.NewPrimary, err)
	}
	if err := holdWorkQueue(ctx, r.remote, tcfg); err != nil {
		return fmt.Errorf("create %s in %s: %w", rs.Target, r.opts.NewPrimary, err)
	}
	rs.Created = true
	return nil
}

// targetConfig is cfg moved into region to's namespace.
func targetConfig(cfg jetstream.StreamConfig, from, to string) (jetstream.StreamConfig, error) {
	cfg.Name = rename(cfg.Name, from, to)
	subjects := make([]string, 0, len(cfg.Subjects))
	for _, s := range cfg.Subjects {
		m, ok := mapSubject(s, from, to)
		if !ok {
			return cfg, fmt.Errorf("subject %q is outside region %s's namespace", s, from)
		}
		subjects = append(subjects, m)
	}
	cfg.Subjects, cfg.Mirror, cfg.Sources, cfg.RePublish = subjects, nil, nil, nil
	return cfg, nil
}

// tailMsgs calls fn for each stored message from seq to last.
func tailMsgs(ctx context.Context, st jetstream.Stream, seq, last uint64, fn func(*jetstream.RawStreamMsg) error) error {
	for seq <= last {
		raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && raw.Sequence > last {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read message at or after %d: %w", seq, err)
		}
		if err := fn(raw); err != nil {
			return err
		}
		seq = raw.Sequence + 1
	}
	return nil
}

// republishTail stores each tail message in the new primary's queue.
// A message done records as processed is skipped (a stale mirror keeps
// every message it saw; done is nil for a region's own work queue, which
// holds only unprocessed ones).
func (r *rescuer) republishTail(ctx context.Context, st jetstream.Stream, rs *RescuedStream, last uint64, done *record) error {
	return tailMsgs(ctx, st, rs.From, last, func(raw *jetstream.RawStreamMsg) error {
		if done != nil && done.done(raw.Sequence) {
			rs.Processed++
			return nil
		}
		rs.Tail++
		subject, ok := mapSubject(raw.Subject, r.region, r.opts.NewPrimary)
		if !ok {
			return fmt.Errorf("message %d: subject %q outside the namespace", raw.Sequence, raw.Subject)
		}
		msg := &nats.Msg{Subject: subject, Data: raw.Data, Header: rescueHeader(raw.Header, r.region)}
		pctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		ack, err := r.local.PublishMsg(pctx, msg, jetstream.WithExpectStream(rs.Target))
		if err != nil {
			return fmt.Errorf("republish message %d: %w", raw.Sequence, err)
		}
		if ack.Duplicate {
			rs.Duplicates++
		} else {
			rs.Republished++
		}
		return nil
	})
}

// rescueHeader keeps the message's own headers and its Nats-Msg-Id, drops
// the server's (expectations, TTLs) and notes where it came from.
func rescueHeader(h nats.Header, from string) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if !strings.HasPrefix(k, "Nats-") || k == nats.MsgIdHdr {
			out[k] = v
		}
	}
	out.Set("Tandem-Rescued-From", from)
	return out
}

// kvWrite is the last write of one key in a bucket's tail.
type kvWrite struct {
	data   []byte
	delete bool
}
