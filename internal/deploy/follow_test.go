package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
)

// linkedPair starts east (leafnode listener) and west linked to it.
func linkedPair(t *testing.T) (east, west *regionUnderTest) {
	t.Helper()
	east = &regionUnderTest{data: t.TempDir(), l: &loads{}}
	east.b = startBroker(t, "east", east.data, true)
	west = &regionUnderTest{data: t.TempDir(), l: &loads{}}
	west.b = startBroker(t, "west", west.data, false, leafURL(t, east.b))
	waitDomain(t, west.b, "east")
	return east, west
}

type regionUnderTest struct {
	data string
	b    *broker.Broker
	l    *loads
}

func TestFollowerCatchesUpWithThePrimary(t *testing.T) {
	e, w := linkedPair(t)
	east := startManager(t, e.b, e.data, e.l, "")
	// No interval check within the test: only the watch on east's bucket
	// can bring the deploys over.
	west := startManagerEvery(t, w.b, w.data, w.l, "east", time.Hour)
	v1, v2 := appVersion(t, 1), appVersion(t, 2)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	deploy(t, east, "shop", v1, t0)
	waitCurrent(t, west, "shop", v1.Version)
	cur, _ := west.Current(testCtx(t), "shop")
	if cur.Source != "east" || !cur.DeployedAt.Equal(t0) {
		t.Fatalf("caught-up package %+v, want source east and the original deploy time", cur)
	}

	// A deploy that reached only west and is newer is not rolled back.
	deploy(t, west, "shop", v2, t0.Add(time.Hour))
	installed, err := west.SyncFrom(testCtx(t), "east")
	if err != nil || len(installed) != 0 {
		t.Fatalf("sync installed %v (err %v); west's newer deploy must stay", installed, err)
	}
	waitCurrent(t, west, "shop", v2.Version)

	// A newer deploy in east wins again.
	deploy(t, east, "shop", v1, t0) // unchanged in east: still the old deploy
	v3 := appVersion(t, 3)
	deploy(t, east, "shop", v3, t0.Add(2*time.Hour))
	waitCurrent(t, west, "shop", v3.Version)
}

func TestFollowerCatchesUpAfterMissingADeploy(t *testing.T) {
	e, w := linkedPair(t)
	east := startManager(t, e.b, e.data, e.l, "")
	west := startManager(t, w.b, w.data, w.l, "east")
	v1, v2 := appVersion(t, 1), appVersion(t, 2)
	deploy(t, east, "shop", v1, time.Now())
	waitCurrent(t, west, "shop", v1.Version)

	_ = west.Shutdown(context.Background()) // west is down for the next deploy
	deploy(t, east, "shop", v2, time.Now())
	deploy(t, east, "cart", appVersion(t, 9), time.Now())

	l := &loads{}
	back := startManager(t, w.b, w.data, l, "east")
	if l.dir("shop") == "" {
		t.Fatal("the stored version was not loaded at start")
	}
	waitCurrent(t, back, "shop", v2.Version)
	waitCurrent(t, back, "cart", appVersion(t, 9).Version)
}

func waitCurrent(t *testing.T, m *Manager, app, version string) {
	t.Helper()
	eventually(t, app+" at "+Short(version), func() bool {
		cur, err := m.Current(context.Background(), app)
		return err == nil && cur.Version == version && m.Active(app) == version
	})
}
