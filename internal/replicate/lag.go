package replicate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// staleContact is how long a mirror may go without hearing from its
// origin (which heartbeats every second) before it is reported unhealthy.
const staleContact = 10 * time.Second

// forget drops a mirror from the known set so the next poll re-creates it.
func (m *Mirrorer) forget(local string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.known, local)
}

// refresh lists the local mirrors, adopts mirrors of the primary created
// by an earlier run, computes each one's status and lag, publishes the
// gauges and decides readiness.
func (m *Mirrorer) refresh(ctx context.Context, polled time.Time, origins map[string]*jetstream.StreamInfo, reachable bool, errs []string) {
	locals, err := m.listLocal(ctx)
	if err != nil {
		errs = append(errs, err.Error())
	}
	m.adopt(locals)
	now := m.opts.Clock.Now()
	var mirrors []MirrorStatus
	for _, mr := range m.knownMirrors() {
		m.syncMeta(ctx, locals[mr.local], origins[mr.origin])
		ms := m.mirrorStatus(ctx, mr, locals[mr.local], origins[mr.origin], now)
		if reachable && origins[mr.origin] == nil && ms.Error == "" {
			ms.Error = "origin not listed by the primary"
		}
		mirrors = append(mirrors, ms)
	}
	sort.Slice(mirrors, func(i, j int) bool { return mirrors[i].Stream < mirrors[j].Stream })
	st := Status{Region: m.region, Primary: m.opts.Primary, PrimaryReachable: reachable, Updated: now, Polled: polled, Mirrors: mirrors, Errors: errs}
	m.mu.Lock()
	m.status = st
	m.mu.Unlock()
	m.met.set(st)
	if reachable && len(errs) == 0 && allHealthy(mirrors) && !m.ready.Swap(true) {
		m.log.Info("mirrorer ready", "mirrors", len(mirrors))
	}
}

func allHealthy(ms []MirrorStatus) bool {
	for _, s := range ms {
		if !s.Healthy() {
			return false
		}
	}
	return true
}

// listLocal returns this region's streams by name.
func (m *Mirrorer) listLocal(ctx context.Context) (map[string]*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	l := m.local.ListStreams(ctx)
	out := map[string]*jetstream.StreamInfo{}
	for info := range l.Info() {
		out[info.Config.Name] = info
	}
	if err := l.Err(); err != nil {
		return out, fmt.Errorf("list local streams: %w", err)
	}
	return out, nil
}

// adopt adds local mirrors of the primary that this Mirrorer did not
// create (made before a restart).
func (m *Mirrorer) adopt(locals map[string]*jetstream.StreamInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, info := range locals {
		origin, region, ok := originOf(info.Config)
		kind, mine := classify(m.opts.Primary, origin)
		if _, known := m.known[name]; ok && mine && region == m.opts.Primary && !known {
			m.known[name] = &mirror{local: name, origin: origin, kind: kind}
		}
	}
}

func (m *Mirrorer) knownMirrors() []*mirror {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*mirror, 0, len(m.known))
	for _, mr := range m.known {
		out = append(out, mr)
	}
	return out
}

// mirrorStatus computes one mirror's status from its local info and, when
// the primary answered, its origin's info.
func (m *Mirrorer) mirrorStatus(ctx context.Context, mr *mirror, local, origin *jetstream.StreamInfo, now time.Time) MirrorStatus {
	ms := MirrorStatus{Stream: mr.local, Origin: mr.origin, Kind: mr.kind, LastContactSeconds: -1}
	if local == nil {
		ms.Error = "local mirror missing; re-created at the next poll"
		m.forget(mr.local)
		return ms
	}
	ms.LastSeq = local.State.LastSeq
	if local.Config.Mirror == nil {
		ms.Error = "no longer a mirror: promoted outside replicate.Promote (a service wrote its config?)"
		return ms
	}
	if si := local.Mirror; si != nil {
		ms.Active = si.Active >= 0
		if ms.Active {
			ms.LastContactSeconds = si.Active.Seconds()
		}
		switch {
		case notUnique(si) && origin != nil:
			ms.Error = si.Error.Error()
			m.dropStaleConsumer(ctx, mr, origin.Config)
		case si.Error != nil:
			ms.Error = si.Error.Error()
		case si.Active > staleContact:
			ms.Error = fmt.Sprintf("no word from the origin for %s", si.Active.Round(time.Second))
		}
		ms.LagMessages = si.Lag
		m.checkIdle(ctx, mr, si, origin, now)
	}
	if origin != nil {
		m.originLag(ctx, mr, &ms, origin, now)
	}
	return ms
}

// originLag sets the lag from the origin's last sequence and the age of
// the oldest message the mirror lacks.
func (m *Mirrorer) originLag(ctx context.Context, mr *mirror, ms *MirrorStatus, origin *jetstream.StreamInfo, now time.Time) {
	ms.OriginLastSeq = origin.State.LastSeq
	ms.LagMessages, ms.LagSeconds = 0, 0
	if origin.State.LastSeq <= ms.LastSeq {
		return
	}
	ms.LagMessages = origin.State.LastSeq - ms.LastSeq
	if t, ok := m.oldestMissing(ctx, mr, ms.LastSeq+1); ok {
		ms.LagSeconds = max(now.Sub(t).Seconds(), 0)
	}
}

// oldestMissing returns the time of the origin's first message at or
// after seq.
func (m *Mirrorer) oldestMissing(ctx context.Context, mr *mirror, seq uint64) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if mr.handle == nil {
		st, err := m.origin.Stream(ctx, mr.origin)
		if err != nil {
			return time.Time{}, false
		}
		mr.handle = st
	}
	raw, err := mr.handle.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
	if err != nil {
		return time.Time{}, false
	}
	return raw.Time, true
}

// idleGrace is how long a mirror may have no consumer on its origin
// before the Mirrorer deletes a former incarnation's: a new mirror gets one
// within 200 ms, but a restarted standby's first request may be lost
// before its link is up, and the server waits 30 s for the answer, then
// meets the stale consumer (10100) and backs off again.
const idleGrace = 3 * time.Second

// checkIdle deletes a former incarnation's consumer on the origin of a
// mirror that has had none of its own for idleGrace, so the server's next
// attempt succeeds instead of being refused.
func (m *Mirrorer) checkIdle(ctx context.Context, mr *mirror, si *jetstream.StreamSourceInfo, origin *jetstream.StreamInfo, now time.Time) {
	switch {
	case si.Active >= 0 || origin == nil:
		mr.idleSince = time.Time{}
	case mr.idleSince.IsZero():
		mr.idleSince = now
	case now.Sub(mr.idleSince) >= idleGrace && !notUnique(si):
		m.dropStaleConsumer(ctx, mr, origin.Config)
		mr.idleSince = now // at most once per grace
	}
}

// dropStaleConsumer deletes the consumer a former incarnation of the
// mirror (before this region restarted) left on its work-queue origin,
// which the server refuses to hand over (10100); the mirror's next retry
// then creates its own.
func (m *Mirrorer) dropStaleConsumer(ctx context.Context, mr *mirror, origin jetstream.StreamConfig) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	dropped, err := dropMirrorConsumer(ctx, m.origin, origin, mr.local, m.region)
	switch {
	case err != nil:
		m.log.Warn("mirror refused by its origin; its stale consumer not deleted", "stream", mr.local, "origin", mr.origin, "err", err)
	case dropped:
		m.log.Info("mirror refused by its origin: stale consumer of a former incarnation deleted", "stream", mr.local, "origin", mr.origin)
	}
}
