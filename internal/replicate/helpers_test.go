package replicate

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/table"
)

// quiet is a logger for parts whose logs would drown test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// region is one embedded region broker of a test, restartable in its dir.
type region struct {
	name, dir string
	b         *broker.Broker
}

// startRegion starts name's broker in dir; leaf is its LeafListen, remotes
// its LeafRemotes.
func startRegion(t *testing.T, name, dir string, listenLeaf bool, remotes ...string) *region {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := broker.Options{Region: name, Dir: dir, LeafRemotes: remotes, Logger: quiet}
	if listenLeaf {
		opts.LeafListen = "127.0.0.1:0"
	}
	b, err := broker.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return &region{name: name, dir: dir, b: b}
}

// link starts the secondary linked to the primary's leafnode listener and
// waits until each reaches the other's JetStream domain.
func link(t *testing.T, primary *region, secondary, dir string) *region {
	t.Helper()
	url, err := LeafURL(primary.b)
	if err != nil {
		t.Fatal(err)
	}
	s := startRegion(t, secondary, dir, false, url)
	waitLinked(t, primary, s)
	return s
}

func waitLinked(t *testing.T, a, b *region) {
	t.Helper()
	ctx := testCtx(t)
	if err := WaitLinked(ctx, b.b, a.name); err != nil {
		t.Fatal(err)
	}
	if err := WaitLinked(ctx, a.b, b.name); err != nil {
		t.Fatal(err)
	}
}

// startPair starts east (primary, leafnode listener) and west linked to it.
func startPair(t *testing.T) (east, west *region) {
	t.Helper()
	east = startRegion(t, "east", t.TempDir(), true)
	west = link(t, east, "west", t.TempDir())
	return east, west
}

func startMirrorer(t *testing.T, opts Options) *Mirrorer {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	opts.Logger = quiet
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

func startProgress(t *testing.T, b *broker.Broker) *Progress {
	t.Helper()
	p, err := NewProgress(ProgressOptions{Broker: b, CompactInterval: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

func newQueues(t *testing.T, b *broker.Broker, onAck func(app, queue string, seq uint64)) *queue.Service {
	t.Helper()
	q, err := queue.New(queue.Options{Broker: b, OnAck: onAck, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Shutdown(ctx)
	})
	return q
}

func newTables(t *testing.T, b *broker.Broker) *table.Service {
	t.Helper()
	s, err := table.New(table.Options{Broker: b, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// streamNames lists a region's streams.
func streamNames(t *testing.T, js jetstream.JetStream) map[string]*jetstream.StreamInfo {
	t.Helper()
	l := js.ListStreams(testCtx(t))
	out := map[string]*jetstream.StreamInfo{}
	for info := range l.Info() {
		out[info.Config.Name] = info
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// caughtUp reports whether every mirror in s has the origin's last
// sequence and is healthy.
func caughtUp(s Status, want int) bool {
	if len(s.Mirrors) != want || !s.PrimaryReachable {
		return false
	}
	for _, m := range s.Mirrors {
		if !m.Healthy() || m.LagMessages != 0 || m.LastSeq != m.OriginLastSeq {
			return false
		}
	}
	return true
}
