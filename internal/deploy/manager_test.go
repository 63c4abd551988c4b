package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/funcapp"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startBroker(t *testing.T, region, dir string, leafListen bool, remotes ...string) *broker.Broker {
	t.Helper()
	opts := broker.Options{Region: region, Dir: dir, LeafRemotes: remotes, Logger: quiet}
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

// leafURL is the URL another region links to b with.
func leafURL(t *testing.T, b *broker.Broker) string {
	t.Helper()
	vz, err := b.Server().Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	return "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(vz.LeafNode.Port))
}

// waitDomain waits until from reaches region's JetStream over the leafnode.
func waitDomain(t *testing.T, from *broker.Broker, region string) {
	t.Helper()
	js, err := jetstream.NewWithDomain(from.Conn(), region)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "link to "+region, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := js.AccountInfo(ctx)
		return err == nil && info.Domain == region
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// loads records what a Manager asked to load, after checking with
// funcapp.Load that the folder is a valid app.
type loads struct {
	mu   sync.Mutex
	dirs map[string]string // app -> last loaded folder
	n    int
}

func (l *loads) load(_ context.Context, app, dir string) error {
	if _, err := funcapp.Load(app, dir); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirs == nil {
		l.dirs = map[string]string{}
	}
	l.dirs[app] = dir
	l.n++
	return nil
}

func (l *loads) dir(app string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dirs[app]
}

func (l *loads) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func startManager(t *testing.T, b *broker.Broker, dataDir string, l *loads, follow string) *Manager {
	t.Helper()
	return startManagerEvery(t, b, dataDir, l, follow, 50*time.Millisecond)
}

// startManagerEvery starts a Manager checking its source every interval.
func startManagerEvery(t *testing.T, b *broker.Broker, dataDir string, l *loads, follow string, interval time.Duration) *Manager {
	t.Helper()
	m, err := New(Options{Broker: b, DataDir: dataDir, Load: l.load, Follow: func() string { return follow },
		SyncInterval: interval, Keep: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// appVersion packs a minimal valid app whose revision.txt is n.
func appVersion(t *testing.T, n int) *Packed {
	t.Helper()
	return mustPack(t, writeTree(t, map[string]string{
		"host.json":           `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"}}}`,
		"revision.txt":        fmt.Sprint(n),
		"handler*":            "#!/bin/sh\n",
		"hello/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"res"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{}}`,
	}))
}

func deploy(t *testing.T, m *Manager, app string, p *Packed, at time.Time) Package {
	t.Helper()
	got, _, err := m.Deploy(testCtx(t), app, p.Archive, p.Version, at, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDeployStoresSwitchesAndCleansUp(t *testing.T) {
	data := t.TempDir()
	b := startBroker(t, "east", data, false)
	l := &loads{}
	m := startManager(t, b, data, l, "")
	v1, v2 := appVersion(t, 1), appVersion(t, 2)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

	p := deploy(t, m, "shop", v1, at)
	if p.Version != v1.Version || !p.DeployedAt.Equal(at) || p.Size != int64(len(v1.Archive)) || p.Source != "deploy" {
		t.Fatalf("deployed %+v", p)
	}
	dir1 := filepath.Join(data, "apps", "shop", v1.Version)
	if l.dir("shop") != dir1 {
		t.Fatalf("loaded %q, want %q", l.dir("shop"), dir1)
	}
	if _, unchanged, err := m.Deploy(testCtx(t), "shop", v1.Archive, "", time.Time{}, "deploy"); err != nil || !unchanged || l.count() != 1 {
		t.Fatalf("redeploy of the same version: unchanged=%v loads=%d err=%v", unchanged, l.count(), err)
	}
	deploy(t, m, "shop", v2, at.Add(time.Minute))
	if _, err := os.Stat(dir1); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old version folder kept after the switch: %v", err)
	}
	cur, err := m.Current(testCtx(t), "shop")
	if err != nil || cur.Version != v2.Version || m.Active("shop") != v2.Version {
		t.Fatalf("current %+v active %s err %v", cur, m.Active("shop"), err)
	}
	if _, b2, err := m.Archive(testCtx(t), "shop"); err != nil || string(b2) != string(v2.Archive) {
		t.Fatalf("stored archive differs: %v", err)
	}
}

func TestDeployRefusalsKeepTheCurrentVersion(t *testing.T) {
	data := t.TempDir()
	m := startManager(t, startBroker(t, "east", data, false), data, &loads{}, "")
	good := appVersion(t, 1)
	deploy(t, m, "shop", good, time.Now())
	broken := mustPack(t, writeTree(t, map[string]string{"host.json": `{"version":"1.0"}`}))
	cases := []struct {
		name    string
		app     string
		archive []byte
		version string
		want    error
	}{
		{"declared version differs", "shop", appVersion(t, 2).Archive, good.Version, ErrBadArchive},
		{"not an archive", "shop", []byte("hello"), "", ErrBadArchive},
		{"app does not load", "shop", broken.Archive, "", ErrLoad},
		{"bad app name", "no_underscores", good.Archive, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := m.Deploy(testCtx(t), c.app, c.archive, c.version, time.Now(), "deploy")
			if err == nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			cur, err := m.Current(testCtx(t), "shop")
			if err != nil || cur.Version != good.Version || m.Active("shop") != good.Version {
				t.Fatalf("current changed: %+v %v", cur, err)
			}
		})
	}
}

func TestStoreKeepsRecentVersions(t *testing.T) {
	data := t.TempDir()
	b := startBroker(t, "east", data, false)
	m := startManager(t, b, data, &loads{}, "")
	for i := range 4 {
		deploy(t, m, "shop", appVersion(t, i), time.Now())
	}
	infos, err := m.store.listInfos(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	want := map[string]bool{"shop/current": true, "shop/" + appVersion(t, 3).Version: true, "shop/" + appVersion(t, 2).Version: true}
	if len(names) != len(want) {
		t.Fatalf("stored %v, want %v", names, want)
	}
	for _, n := range names {
		if !want[n] {
			t.Fatalf("stored %v, want %v", names, want)
		}
	}
}

func TestRestartLoadsStoredPackages(t *testing.T) {
	cases := []struct {
		name     string
		wipeApps bool // the unpacked folders are gone (new disk for apps)
	}{{"folders kept", false}, {"folders rebuilt from the store", true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			b := startBroker(t, "east", data, false)
			first := startManager(t, b, data, &loads{}, "")
			v1 := appVersion(t, 7)
			deploy(t, first, "shop", v1, time.Now())
			deploy(t, first, "cart", appVersion(t, 8), time.Now())
			_ = first.Shutdown(context.Background())
			if c.wipeApps {
				if err := os.RemoveAll(filepath.Join(data, "apps")); err != nil {
					t.Fatal(err)
				}
			}
			l := &loads{}
			startManager(t, b, data, l, "")
			if want := filepath.Join(data, "apps", "shop", v1.Version); l.dir("shop") != want || l.dir("cart") == "" {
				t.Fatalf("after restart loaded %v, want shop from %s and cart", l.dirs, want)
			}
		})
	}
}

// TestRefusedDeploysLeaveNothing: a refused deploy (a package that unpacks
// but does not load, a bomb past the limits, a first deploy of an app)
// leaves no unpacked files, no folder and no stored archive behind; the
// loaded package's unpacked files used to stay (1.1 GB from a 1 MB bomb).
func TestRefusedDeploysLeaveNothing(t *testing.T) {
	data := t.TempDir()
	b := startBroker(t, "east", data, false)
	m, err := New(Options{Broker: b, DataDir: data, Load: (&loads{}).load, Keep: 2, Logger: quiet, Limits: Limits{MaxBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	good := appVersion(t, 1)
	deploy(t, m, "shop", good, time.Now())
	zeros := string(make([]byte, 512<<10))
	noLoad := mustPack(t, writeTree(t, map[string]string{"host.json": `{"version":"1.0"}`, "big.bin": zeros}))
	bomb := tarGz(t, entry{name: "a", body: zeros}, entry{name: "b", body: zeros}, entry{name: "c", body: zeros})
	dirs := []entry{}
	for i := range 300 {
		dirs = append(dirs, entry{name: fmt.Sprintf("d%d/", i), typ: '5'})
	}
	cases := []struct {
		name, app string
		archive   []byte
	}{
		{"does not load", "shop", noLoad.Archive},
		{"bytes past the limit", "shop", bomb},
		{"directories past the byte limit", "shop", tarGz(t, dirs...)},
		{"first deploy does not load", "other", noLoad.Archive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := m.Deploy(testCtx(t), c.app, c.archive, "", time.Now(), "deploy"); err == nil {
				t.Fatal("deploy accepted")
			}
			entries, _ := os.ReadDir(filepath.Join(data, "apps", "shop"))
			if len(entries) != 1 || entries[0].Name() != good.Version {
				t.Fatalf("apps/shop holds %v, want only the good version", entries)
			}
			if _, err := os.Stat(filepath.Join(data, "apps", "other")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused first deploy left apps/other: %v", err)
			}
			infos, _ := m.store.listInfos(testCtx(t))
			var names []string
			for _, info := range infos {
				names = append(names, info.Name)
			}
			if len(names) != 2 {
				t.Fatalf("store holds %v, want the good version and its current pointer", names)
			}
		})
	}
}
