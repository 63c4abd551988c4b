package blobtrigger

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
)

// dispatch starts processing a version the pattern matches, unless this
// process is already on it. It blocks while Concurrency runs are going
// (back-pressure on the watch).
func (l *Listener) dispatch(v blob.Version) {
	if v.Deleted {
		return
	}
	values, ok := l.opts.Pattern.Match(v.Container, v.Name)
	if !ok {
		return
	}
	key := Key(l.opts.App, l.opts.Function, v.Container, v.Name, v.ETag)
	l.mu.Lock()
	if l.stopped || l.inflight[key] {
		l.mu.Unlock()
		return
	}
	l.inflight[key] = true
	l.wg.Add(1)
	l.mu.Unlock()
	select {
	case l.sem <- struct{}{}:
	case <-l.work.Done():
		l.finish(key)
		return
	}
	go func() {
		defer func() { <-l.sem }()
		defer l.finish(key)
		l.process(v, values, key)
	}()
}

func (l *Listener) finish(key string) {
	l.mu.Lock()
	delete(l.inflight, key)
	l.mu.Unlock()
	l.wg.Done()
}

// later looks at a version again after d (a claim of another node that
// may still be running, a receipt that could not be read).
func (l *Listener) later(v blob.Version, d time.Duration) {
	time.AfterFunc(d, func() { l.dispatch(v) })
}

// process runs a version until a receipt says it is final: claim, invoke,
// record. A failed run is retried after VisibilityTimeout, up to
// MaxDequeueCount runs, then the version goes to the poison queue.
func (l *Listener) process(v blob.Version, values map[string]string, key string) {
	ctx := l.work
	for ctx.Err() == nil && !l.isStopped() {
		rc, rev, err := l.rc.get(ctx, key)
		if err != nil {
			l.log.Warn("blob trigger: read receipt", "blob", v.Name, "err", err)
			l.later(v, time.Second)
			return
		}
		if rc.final() {
			return
		}
		if wait := l.othersClaim(rc); wait > 0 {
			l.later(v, wait)
			return
		}
		attempts := rc.Attempts + 1
		if attempts > l.opts.MaxDequeueCount { // runs that died mid-way count, as a queue's dequeues do
			l.poison(ctx, v, key, rc, rev)
			return
		}
		claim := l.receipt(Running, attempts, v)
		claim.Until = claim.At.Add(l.opts.Lease)
		crev, err := l.rc.put(ctx, key, claim, rev)
		if errors.Is(err, errRaced) {
			continue
		}
		if err != nil {
			l.log.Warn("blob trigger: claim", "blob", v.Name, "err", err)
			l.later(v, time.Second)
			return
		}
		if !l.attempt(ctx, v, values, key, claim, crev) {
			return
		}
		select { // the visibility timeout before the next try, unless stopping
		case <-time.After(l.opts.VisibilityTimeout):
		case <-l.halt:
		case <-ctx.Done():
		}
	}
}

// othersClaim says how long to leave a version alone: a running claim of
// another node of this region, within its lease. A claim of another
// region is stale: only the active primary runs triggers, so that region
// was failed over (its run died with it, or completed without its
// receipt reaching us; see DESIGN.md).
func (l *Listener) othersClaim(rc Receipt) time.Duration {
	if rc.State != Running || rc.Region != l.opts.Region || rc.Node == l.opts.Node {
		return 0
	}
	return time.Until(rc.Until)
}

// attempt runs the function once for a claimed version; it reports whether
// to try again.
func (l *Listener) attempt(ctx context.Context, v blob.Version, values map[string]string, key string, claim Receipt, rev uint64) bool {
	b, content, err := l.opts.Blobs.ReadAll(ctx, l.opts.App, v.Container, v.Name)
	if blob.IsNotFound(err) || err == nil && b.ETag != v.ETag {
		// Gone or replaced: the newer version has its own receipt (the
		// host's BlobTriggerExecutor skips such a message too).
		l.record(ctx, key, l.receipt(Skipped, claim.Attempts, v), rev)
		return false
	}
	if err == nil {
		err = l.opts.Invoke(ctx, Fire{Version: v, Blob: b, Content: content, Values: values})
	}
	if err == nil {
		l.record(ctx, key, l.receipt(Done, claim.Attempts, v), rev)
		return false
	}
	if ctx.Err() != nil {
		return false // stopping: the claim stays, the next primary or start takes over
	}
	if errors.Is(err, ErrNotRun) {
		// Refused before the handler ran (the region stopped being the
		// active primary): not an attempt. The claim is given back; the
		// listener is being stopped, and the next primary runs it.
		l.log.Info("blob trigger: run refused; left to the next primary", "blob", v.Name, "etag", v.ETag, "err", err)
		if _, err := l.rc.put(ctx, key, l.receipt(Failed, claim.Attempts-1, v), rev); err != nil {
			l.log.Warn("blob trigger: give the claim back", "blob", v.Name, "err", err)
		}
		return false
	}
	l.log.Warn("blob trigger: run failed", "blob", v.Name, "etag", v.ETag, "attempt", claim.Attempts, "err", err)
	if claim.Attempts >= l.opts.MaxDequeueCount && !l.isStopped() {
		l.poison(ctx, v, key, claim, rev)
		return false
	}
	if _, err := l.rc.put(ctx, key, l.receipt(Failed, claim.Attempts, v), rev); err != nil {
		l.log.Warn("blob trigger: record failure", "blob", v.Name, "err", err)
	}
	return !l.isStopped() // a stopping listener leaves the retries to its successor
}

// ErrNotRun marks an Invoke error of a run refused before the handler
// ran (the region is no longer the active primary): it is not an attempt.
var ErrNotRun = errors.New("blob trigger run refused before it ran")

func (l *Listener) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

func (l *Listener) receipt(state string, attempts int, v blob.Version) Receipt {
	return Receipt{State: state, Attempts: attempts, Region: l.opts.Region, Node: l.opts.Node, At: time.Now().UTC(),
		Blob: v.Container + "/" + v.Name, ETag: v.ETag}
}

// record writes a final receipt and, in sync mode, waits until the
// standbys have it: a failover after that never runs the version again.
func (l *Listener) record(ctx context.Context, key string, rc Receipt, rev uint64) {
	n, err := l.rc.put(ctx, key, rc, rev)
	if err != nil {
		l.log.Error("blob trigger: write receipt", "blob", rc.Blob, "state", rc.State, "err", err)
		return
	}
	if l.opts.Stored == nil {
		return
	}
	if err := l.opts.Stored(ctx, n); err != nil {
		l.log.Warn("blob trigger: receipt not confirmed by the standbys", "blob", rc.Blob, "state", rc.State, "err", err)
	}
}

// poison sends the host's poison message and records the version as
// poisoned.
func (l *Listener) poison(ctx context.Context, v blob.Version, key string, rc Receipt, rev uint64) {
	msg, _ := json.Marshal(poisonMessage{Type: "BlobTrigger", FunctionID: "Host.Functions." + l.opts.Function,
		BlobType: "BlockBlob", ContainerName: v.Container, BlobName: v.Name, ETag: v.ETag})
	if err := l.opts.Poison(ctx, msg, key); err != nil {
		l.log.Error("blob trigger: poison message", "blob", v.Name, "err", err)
		l.later(v, time.Second)
		return
	}
	l.log.Warn("blob trigger: moved to the poison queue", "blob", v.Name, "etag", v.ETag, "attempts", rc.Attempts, "queue", PoisonQueue)
	l.record(ctx, key, l.receipt(Poisoned, rc.Attempts, v), rev)
}

// poisonMessage is the host's BlobTriggerMessage as Json.NET writes it.
type poisonMessage struct {
	Type          string
	FunctionID    string `json:"FunctionId"`
	BlobType      string
	ContainerName string
	BlobName      string
	ETag          string
}
