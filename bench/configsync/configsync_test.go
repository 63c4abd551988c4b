// Package configsync_test measures how long a settings or key change in
// the primary takes to be in force in a secondary: two embedded regions,
// each its own JetStream domain, linked by a leafnode over TCP loopback;
// west runs configsync.Syncer following east. Baseline in the same run:
// a raw KV put in east seen by a cross-domain KV watch in west (the
// transport's floor). Figures: bench/configsync.md.
//
//	go test -run XXX -bench . -benchtime 1x -count 3 ./bench/configsync/
package configsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/configsync"
	"github.com/tandemhq/tandem/internal/keys"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/settings"
)

const (
	app     = "bench"
	changes = 100
)

var (
	east, west         *broker.Broker
	eastSet, westSet   *settings.Store
	eastKeys, westKeys *keys.Store
	syncer             *configsync.Syncer
	quiet              = slog.New(slog.NewTextHandler(io.Discard, nil))
	runs               atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "configsync-bench")
	if err != nil {
		panic(err)
	}
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = syncer.Shutdown(context.Background())
	west.Shutdown()
	east.Shutdown()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func setup(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if east, err = broker.Start(ctx, broker.Options{Region: "east", Dir: dir + "/east", LeafListen: "127.0.0.1:0", Logger: quiet}); err != nil {
		return err
	}
	url, err := replicate.LeafURL(east)
	if err != nil {
		return err
	}
	if west, err = broker.Start(ctx, broker.Options{Region: "west", Dir: dir + "/west", LeafRemotes: []string{url}, Logger: quiet}); err != nil {
		return err
	}
	if err := replicate.WaitLinked(ctx, west, "east"); err != nil {
		return err
	}
	if eastSet, eastKeys, err = stores(ctx, east); err != nil {
		return err
	}
	if westSet, westKeys, err = stores(ctx, west); err != nil {
		return err
	}
	return startSyncer(ctx)
}

func stores(ctx context.Context, b *broker.Broker) (*settings.Store, *keys.Store, error) {
	st, err := settings.New(settings.Options{Broker: b, Logger: quiet})
	if err == nil {
		err = st.Start(ctx)
	}
	if err != nil {
		return nil, nil, err
	}
	ks, err := keys.New(keys.Options{Broker: b, Master: "master-" + b.Region(), Logger: quiet})
	if err == nil {
		err = ks.Start(ctx)
	}
	return st, ks, err
}

func startSyncer(ctx context.Context) error {
	// east needs its sync bucket (its replicas); a Syncer creates it.
	es, err := configsync.New(configsync.Options{Broker: east, Settings: eastSet, Keys: eastKeys, Logger: quiet})
	if err == nil {
		err = es.Start(ctx)
	}
	if err != nil {
		return err
	}
	syncer, err = configsync.New(configsync.Options{Broker: west, Settings: westSet, Keys: westKeys,
		Source: func() string { return "east" }, Logger: quiet})
	if err == nil {
		err = syncer.Start(ctx)
	}
	if err != nil {
		return err
	}
	for !syncer.Status().Watching {
		select {
		case <-ctx.Done():
			return fmt.Errorf("west never watched east: %+v", syncer.Status())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// BenchmarkLag: 100 changes timed from the call in east to their
// arrival in west: one at a time (each waits for the previous one to
// arrive; settings and keys rotate ten names, so they are modifies), or
// all 100 back to back (burst; 100 new names).
func BenchmarkLag(b *testing.B) {
	b.Run("baseline-kv-watch", func(b *testing.B) { run(b, baseline(b), false) })
	b.Run("baseline-kv-watch-burst", func(b *testing.B) { run(b, baseline(b), true) })
	b.Run("configsync-sequential", func(b *testing.B) { run(b, viaSync(b, false), false) })
	b.Run("configsync-burst", func(b *testing.B) { run(b, viaSync(b, true), true) })
}

// arrival is a change seen in west: its name there and when.
type arrival struct {
	name string
	at   time.Time
}

// changer makes change i in east, returning the name its arrival in west
// will carry; seen announces arrivals.
type changer struct {
	change func(i int) (string, error)
	seen   <-chan arrival
}

func run(b *testing.B, c changer, burst bool) {
	for range b.N {
		starts := map[string]time.Time{}
		lags := make([]time.Duration, 0, changes)
		for i := range changes {
			t0 := time.Now()
			name, err := c.change(i)
			if err != nil {
				b.Fatal(err)
			}
			starts[name] = t0
			if !burst {
				lags = append(lags, arrive(b, c.seen, starts))
			}
		}
		for burst && len(lags) < changes {
			lags = append(lags, arrive(b, c.seen, starts))
		}
		report(b, lags)
	}
}

// arrive waits for the next arrival of a change in starts and returns its lag.
func arrive(b *testing.B, seen <-chan arrival, starts map[string]time.Time) time.Duration {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-seen:
			if t0, ok := starts[a.name]; ok {
				delete(starts, a.name)
				return a.at.Sub(t0)
			}
		case <-timeout:
			b.Fatalf("%d changes never arrived in west", len(starts))
		}
	}
}

func report(b *testing.B, lags []time.Duration) {
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	pct := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// baseline: a raw KV put in east, watched from west across the leafnode.
func baseline(b *testing.B) changer {
	ctx := context.Background()
	bucket := broker.Name("east", "benchraw"+strconv.FormatInt(runs.Add(1), 10))
	kv, err := east.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
	if err != nil {
		b.Fatal(err)
	}
	js, err := jetstream.NewWithDomain(west.Conn(), "east")
	if err != nil {
		b.Fatal(err)
	}
	remote, err := js.KeyValue(ctx, bucket)
	if err != nil {
		b.Fatal(err)
	}
	w, err := remote.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Stop() })
	seen := make(chan arrival, changes)
	go func() {
		for e := range w.Updates() {
			if e != nil {
				seen <- arrival{e.Key(), time.Now()}
			}
		}
	}()
	return changer{seen: seen, change: func(i int) (string, error) {
		k := "k" + strconv.Itoa(i)
		_, err := kv.Put(ctx, k, []byte(strconv.Itoa(i)))
		return k, err
	}}
}

// viaSync: even changes put an app setting, odd ones set a function key,
// in east's stores; west's audit entry (published once the setting or the
// HA- key is in west's store) marks the arrival.
func viaSync(b *testing.B, fresh bool) changer {
	ctx := context.Background()
	seen := make(chan arrival, 2*changes)
	sub, err := west.Conn().Subscribe(west.Subject("audit", ">"), func(m *nats.Msg) {
		var e configsync.AuditEntry
		if json.Unmarshal(m.Data, &e) == nil {
			seen <- arrival{e.Name, time.Now()}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := west.Conn().Flush(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	run := strconv.FormatInt(runs.Add(1), 10)
	return changer{seen: seen, change: func(i int) (string, error) {
		n := strconv.Itoa(i % 10)
		if fresh {
			n = run + "_" + strconv.Itoa(i)
		}
		v := "r" + run + "-" + strconv.Itoa(i)
		if i%2 == 0 {
			_, err := eastSet.Put(ctx, app, settings.AppSetting, "SETTING_"+n, v)
			return "SETTING_" + n, err
		}
		_, _, err := eastKeys.Set(ctx, app, keys.FunctionScope("hello"), "k"+n, "key-"+v)
		return configsync.Prefix + "k" + n, err
	}}
}
