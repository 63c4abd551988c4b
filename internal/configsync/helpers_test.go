package configsync

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/settings"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// node is one region's stores: a broker, settings, keys and a Syncer.
type node struct {
	name     string
	b        *broker.Broker
	settings *settings.Store
	keys     *keys.Store
	sync     *Syncer
	reg      *prometheus.Registry
}

func startBroker(t *testing.T, name string, leafListen bool, remotes ...string) *broker.Broker {
	t.Helper()
	opts := broker.Options{Region: name, Dir: t.TempDir(), LeafRemotes: remotes, Logger: quiet}
	if leafListen {
		opts.LeafListen = "127.0.0.1:0"
	}
	b, err := broker.Start(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return b
}

// startStores opens a region's settings and keys stores on b, in the
// buckets of region name (which need not be b's own region).
func startStores(t *testing.T, b *broker.Broker, name string) *node {
	t.Helper()
	ctx := testCtx(t)
	st, err := settings.New(settings.Options{JetStream: b.JetStream(), Bucket: broker.Name(name, "settings"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Shutdown(context.Background()) })
	ks, err := keys.New(keys.Options{JetStream: b.JetStream(), Bucket: broker.Name(name, "keys"), Master: "master-of-" + name, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ks.Shutdown(context.Background()) })
	return &node{name: name, b: b, settings: st, keys: ks}
}

// startNode starts a region's stores and its Syncer (following source()
// when source is not nil).
func startNode(t *testing.T, b *broker.Broker, source func() string, mod ...func(*Options)) *node {
	t.Helper()
	n := startStores(t, b, b.Region())
	n.reg = prometheus.NewRegistry()
	opts := Options{Broker: b, Settings: n.settings, Keys: n.keys, Source: source, Registerer: n.reg, Logger: quiet, Retry: 50 * time.Millisecond}
	for _, f := range mod {
		f(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	n.sync = s
	return n
}

// linkedPair starts east (leafnode listener) and west linked to it, and
// waits until each reaches the other's JetStream domain.
func linkedPair(t *testing.T) (east, west *broker.Broker) {
	t.Helper()
	east = startBroker(t, "east", true)
	url, err := replicate.LeafURL(east)
	if err != nil {
		t.Fatal(err)
	}
	west = startBroker(t, "west", false, url)
	ctx := testCtx(t)
	for _, p := range [][2]*broker.Broker{{west, east}, {east, west}} {
		if err := replicate.WaitLinked(ctx, p[0], p[1].Region()); err != nil {
			t.Fatal(err)
		}
	}
	return east, west
}

// eventually polls cond every 2 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		<-tick.C
	}
	return time.Since(start)
}

func mustPut(t *testing.T, n *node, app string, k settings.Kind, name, value string) {
	t.Helper()
	if _, err := n.settings.Put(testCtx(t), app, k, name, value); err != nil {
		t.Fatal(err)
	}
}

func mustSetKey(t *testing.T, n *node, app string, sc keys.Scope, name, value string) {
	t.Helper()
	if _, _, err := n.keys.Set(testCtx(t), app, sc, name, value); err != nil {
		t.Fatal(err)
	}
}

func keyOf(t *testing.T, n *node, app string, sc keys.Scope, name string) string {
	t.Helper()
	v, ok := n.keys.Get(app, sc, name)
	if !ok {
		t.Fatalf("%s: no key %q in %s of app %s", n.name, name, sc, app)
	}
	return v
}
