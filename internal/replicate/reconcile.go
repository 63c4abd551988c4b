package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// apiTimeout bounds one JetStream API round trip in the loop, so an
// unreachable primary does not stall lag reporting.
const apiTimeout = 2 * time.Second

// cycle runs one discovery and lag refresh.
func (m *Mirrorer) cycle(ctx context.Context) {
	polled := m.opts.Clock.Now()
	origins, err := m.listOrigins(ctx)
	var errs []string
	if err != nil {
		errs = append(errs, err.Error())
	} else {
		errs = append(errs, m.ensureAll(ctx, origins)...)
		m.handleDeletes(ctx, origins)
	}
	m.refresh(ctx, polled, origins, err == nil, errs)
}

// listOrigins lists the primary's replicated streams with their state.
func (m *Mirrorer) listOrigins(ctx context.Context) (map[string]*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	l := m.origin.ListStreams(ctx)
	out := map[string]*jetstream.StreamInfo{}
	for info := range l.Info() {
		if _, ok := classify(m.opts.Primary, info.Config.Name); ok {
			out[info.Config.Name] = info
		}
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list streams of primary %s: %w", m.opts.Primary, err)
	}
	return out, nil
}

// ensureAll creates the mirrors that are missing, returning problems.
func (m *Mirrorer) ensureAll(ctx context.Context, origins map[string]*jetstream.StreamInfo) []string {
	names := make([]string, 0, len(origins))
	for n := range origins {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return progressLast(m.opts.Primary, names[i], names[j]) })
	var errs []string
	waiting := false // a stale mirror may still need the failed region's progress
	for _, n := range names {
		if kind, _ := classify(m.opts.Primary, n); kind == KindProgress && waiting {
			errs = append(errs, fmt.Sprintf("progress mirror of %s: retargeted once every stale mirror is rescued", m.opts.Primary))
			continue
		}
		if origins[n].Config.Mirror != nil {
			// The primary is still promoting its mirrors (just failed over
			// to, three or more regions): mirror it at the next poll.
			errs = append(errs, fmt.Sprintf("origin %s is still a mirror in %s (promotion under way)", n, m.opts.Primary))
			waiting = true
			continue
		}
		err := m.ensure(ctx, origins[n].Config)
		if err != nil {
			errs = append(errs, err.Error())
			waiting = waiting || errors.Is(err, errStaleNotRescued)
		}
		m.logOnce(n, err)
	}
	return errs
}

// ensure makes sure local has a mirror of origin.
func (m *Mirrorer) ensure(ctx context.Context, origin jetstream.StreamConfig) error {
	local := rename(origin.Name, m.opts.Primary, m.region)
	if m.isKnown(local) {
		return nil
	}
	kind, _ := classify(m.opts.Primary, origin.Name)
	if err := m.rescueIfStale(ctx, local, kind); err != nil {
		return err
	}
	if err := ensureMirror(ctx, m.local, m.origin, origin, m.opts.Primary, m.region, m.opts.Replicas); err != nil {
		return err
	}
	m.mu.Lock()
	m.known[local] = &mirror{local: local, origin: origin.Name, kind: kind}
	m.mu.Unlock()
	return nil
}

// progressLast orders stream names by name, the progress bucket last.
func progressLast(primary, a, b string) bool {
	pa, pb := a == kvStream(ProgressBucket(primary)), b == kvStream(ProgressBucket(primary))
	if pa != pb {
		return pb
	}
	return a < b
}

// logOnce logs a mirror creation error when it differs from the last one
// logged for that origin (the loop retries every poll).
func (m *Mirrorer) logOnce(origin string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if m.lastErr[origin] == msg {
		return
	}
	m.lastErr[origin] = msg
	if err != nil {
		m.log.Warn("mirror not created; retrying every poll", "origin", origin, "err", err)
	}
}

func (m *Mirrorer) isKnown(local string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.known[local]
	return ok
}

// errInTheWay means a local stream with data holds a mirror's name.
var errInTheWay = errors.New("local stream with data is in the way")

// ensureMirror creates local's mirror of origin unless it exists. An
// empty local stream of the same name that is not that mirror (a service
// that declared it before replication started) is replaced, and so is a
// mirror of another region (retargetStale); any other stream with data is
// left alone and reported: only Reseed deletes what this region wrote.
// remote is the primary's JetStream: a new mirror first deletes the
// consumer a former incarnation left on its origin (see holdWorkQueue's
// file), so it copies the origin from its first message.
func ensureMirror(ctx context.Context, js, remote jetstream.JetStream, origin jetstream.StreamConfig, primary, local string, replicas int) error {
	cfg, err := mirrorConfig(origin, primary, local, replicas)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	st, err := js.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
	case err != nil:
		return fmt.Errorf("mirror %s: %w", cfg.Name, err)
	case isMirrorOf(st.CachedInfo().Config, origin.Name, primary):
		return ensureGuard(ctx, js, local, cfg, replicas)
	case isStaleMirror(st.CachedInfo().Config, primary):
		if err := retargetStale(ctx, js, local, st.CachedInfo().Config.Name); err != nil {
			return err
		}
	default:
		if err := clearWay(ctx, js, st.CachedInfo(), origin.Name, primary); err != nil {
			return err
		}
	}
	if err := ensureGuard(ctx, js, local, cfg, replicas); err != nil {
		return err
	}
	if _, err := dropMirrorConsumer(ctx, remote, origin, cfg.Name, local); err != nil {
		return fmt.Errorf("mirror %s: %w", cfg.Name, err)
	}
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		return fmt.Errorf("create mirror %s of %s/%s: %w", cfg.Name, primary, origin.Name, err)
	}
	return nil
}

// clearWay deletes an empty local stream that is not the wanted mirror.
func clearWay(ctx context.Context, js jetstream.JetStream, info *jetstream.StreamInfo, origin, primary string) error {
	if info.State.Msgs > 0 || info.State.LastSeq > 0 {
		return fmt.Errorf("mirror %s of %s/%s: %w (%d messages, last sequence %d); Reseed replaces it",
			info.Config.Name, primary, origin, errInTheWay, info.State.Msgs, info.State.LastSeq)
	}
	if err := js.DeleteStream(ctx, info.Config.Name); err != nil {
		return fmt.Errorf("mirror %s: delete empty stream in the way: %w", info.Config.Name, err)
	}
	return nil
}

// isStaleMirror: cfg mirrors a region other than primary. With three or
// more regions, a secondary that followed the old primary finds its
// mirrors pointing there after a failover to another region.
func isStaleMirror(cfg jetstream.StreamConfig, primary string) bool {
	_, from, ok := originOf(cfg)
	return ok && from != primary
}

// retargetStale deletes a mirror of another region, and its guard, so the
// primary's counterpart can be mirrored in its place. JetStream does not
// let a mirror change its origin (a mirror's configuration is immutable
// but for its removal), so the secondary copies the new primary's live
// state again (a work queue's unprocessed messages, each table key's
// latest revision), not the history the old mirror held. It is reached
// only for an origin the new primary has: a mirror whose counterpart the
// new primary lacks (a stream it had not mirrored when it was promoted)
// stays, the only copy besides the failed region's, until that region
// rejoins and its tail is rescued.
func retargetStale(ctx context.Context, js jetstream.JetStream, region, name string) error {
	if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("retarget mirror %s: delete: %w", name, err)
	}
	return dropGuard(ctx, js, region, name)
}

func isMirrorOf(cfg jetstream.StreamConfig, origin, primary string) bool {
	o, r, ok := originOf(cfg)
	return ok && o == origin && r == primary
}

// handleDeletes deletes mirrors whose origin was announced deleted and
// that the primary confirms gone. A stream merely missing from a listing
// is never deleted: an emptied primary must not empty its secondary.
func (m *Mirrorer) handleDeletes(ctx context.Context, origins map[string]*jetstream.StreamInfo) {
	m.mu.Lock()
	pending := m.deleted
	m.deleted = map[string]bool{}
	m.mu.Unlock()
	for name := range pending {
		if _, alive := origins[name]; alive || !m.originGone(ctx, name) {
			continue
		}
		local := rename(name, m.opts.Primary, m.region)
		if err := m.deleteMirror(ctx, local, name); err != nil {
			m.log.Warn("mirror of deleted stream not deleted", "stream", local, "err", err)
		}
	}
}

// originGone asks the primary for the stream: only "not found" counts.
func (m *Mirrorer) originGone(ctx context.Context, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	_, err := m.origin.Stream(ctx, name)
	return errors.Is(err, jetstream.ErrStreamNotFound)
}

func (m *Mirrorer) deleteMirror(ctx context.Context, local, origin string) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	st, err := m.local.Stream(ctx, local)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isMirrorOf(st.CachedInfo().Config, origin, m.opts.Primary) {
		return fmt.Errorf("%s is not a mirror of %s", local, origin)
	}
	if err := m.local.DeleteStream(ctx, local); err != nil {
		return err
	}
	if err := dropGuard(ctx, m.local, m.region, local); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.known, local)
	m.mu.Unlock()
	m.log.Info("mirror deleted with its origin", "stream", local, "origin", origin)
	return nil
}
