package configsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watchSet watches the source region's three buckets. The sync bucket
// is optional (a primary that never ran a Syncer has no replicas): its
// channel is then nil and never ready.
type watchSet struct {
	w  [3]jetstream.KeyWatcher
	ch [3]<-chan jetstream.KeyValueEntry
}

func openWatches(ctx context.Context, js jetstream.JetStream, src string) (*watchSet, error) {
	ws := &watchSet{}
	for _, b := range buckets {
		kv, err := js.KeyValue(ctx, b.name(src))
		if b == syncBucket && errors.Is(err, jetstream.ErrBucketNotFound) {
			continue
		}
		if err == nil {
			ws.w[b], err = kv.WatchAll(ctx)
		}
		if err != nil {
			ws.stop()
			return nil, fmt.Errorf("watch bucket %s: %w", b.name(src), err)
		}
		ws.ch[b] = ws.w[b].Updates()
	}
	return ws, nil
}

func (ws *watchSet) stop() {
	for _, w := range ws.w {
		if w != nil {
			_ = w.Stop()
		}
	}
}

// initial reads every bucket's current entries into m.
func (ws *watchSet) initial(ctx context.Context, m *mirror) error {
	for _, b := range buckets {
		for ws.ch[b] != nil {
			e, err := recv(ctx, ws.ch[b])
			if err != nil {
				return fmt.Errorf("load bucket %s: %w", b.name(m.region), err)
			}
			if e == nil {
				break
			}
			m.apply(b, e, false)
		}
	}
	return nil
}

func recv(ctx context.Context, ch <-chan jetstream.KeyValueEntry) (jetstream.KeyValueEntry, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case e, ok := <-ch:
		if !ok {
			return nil, errors.New("watch ended")
		}
		return e, nil
	}
}

// update is one entry from one of the watched buckets; ok is false when
// that watch ended.
type update struct {
	b  bucket
	e  jetstream.KeyValueEntry
	ok bool
}

// next waits for a change (or the timer: nil apps), then takes
// every change already queued, and returns the apps they touched.
func (ws *watchSet) next(ctx context.Context, m *mirror, timer <-chan time.Time) ([]string, error) {
	u, tick, err := ws.wait(ctx, timer)
	if err != nil || tick {
		return nil, err
	}
	dirty := map[string]bool{}
	for more := true; more; u, more = ws.queued() {
		if !u.ok {
			return nil, fmt.Errorf("watch of bucket %s ended", u.b.name(m.region))
		}
		if u.e == nil {
			continue
		}
		if app := m.apply(u.b, u.e, true); app != "" {
			dirty[app] = true
		}
	}
	return sortedNames(dirty), nil
}

// wait blocks for one update, the timer (tick) or the end of ctx.
func (ws *watchSet) wait(ctx context.Context, timer <-chan time.Time) (u update, tick bool, err error) {
	select {
	case <-ctx.Done():
		return update{}, false, ctx.Err()
	case <-timer:
		return update{}, true, nil
	case e, ok := <-ws.ch[settingsBucket]:
		return update{settingsBucket, e, ok}, false, nil
	case e, ok := <-ws.ch[keysBucket]:
		return update{keysBucket, e, ok}, false, nil
	case e, ok := <-ws.ch[syncBucket]:
		return update{syncBucket, e, ok}, false, nil
	}
}

// queued takes one update without waiting; more is false when none is queued.
func (ws *watchSet) queued() (u update, more bool) {
	select {
	case e, ok := <-ws.ch[settingsBucket]:
		return update{settingsBucket, e, ok}, true
	case e, ok := <-ws.ch[keysBucket]:
		return update{keysBucket, e, ok}, true
	case e, ok := <-ws.ch[syncBucket]:
		return update{syncBucket, e, ok}, true
	default:
		return update{}, false
	}
}

// stallCheck notices a watch that no longer delivers: a bucket whose last
// revision in the primary stays ahead of what the watch delivered for two
// checks in a row. (An ordered consumer across a leafnode recovers by
// itself only after its missed-heartbeat reset, 10 s or more.)
type stallCheck struct {
	behind [3]uint64 // the bucket's last revision when first seen ahead
}

func (st *stallCheck) check(ctx context.Context, js jetstream.JetStream, ws *watchSet, m *mirror) error {
	for _, b := range buckets {
		if ws.ch[b] == nil {
			continue
		}
		last, ok := lastRevision(ctx, js, b.name(m.region))
		switch {
		case !ok || last <= m.seen[b]:
			st.behind[b] = 0
		case st.behind[b] != 0 && m.seen[b] < st.behind[b]:
			return fmt.Errorf("watch of bucket %s stalled at revision %d (the bucket is at %d)", b.name(m.region), m.seen[b], last)
		default: // ahead now: the watch must get there by the next check
			st.behind[b] = last
		}
	}
	return nil
}

// lastRevision reads the last sequence of a bucket's stream (ok false when
// it cannot be read now).
func lastRevision(ctx context.Context, js jetstream.JetStream, bucket string) (uint64, bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	str, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return 0, false
	}
	return str.CachedInfo().State.LastSeq, true
}
