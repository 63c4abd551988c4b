package drill

import (
	"testing"

	"github.com/tandemhq/tandem/internal/cluster"
)

// TestStoryDestroyPrimary: the primary is lost with its disk (kill -9 and
// its data directory deleted); west takes over; a brand-new east joins as a
// standby, is seeded from west, and takes the primary role back. In sync
// mode nothing acknowledged is lost, even though the old east's disk is
// gone.
func TestStoryDestroyPrimary(t *testing.T) {
	rep := story(t, Options{Fault: "destroy"}, func(o *cluster.Options) { o.SyncApps = []string{App} })
	if !rep.SyncMode {
		t.Fatal("the drill app is not in sync mode")
	}
	noLoss(t, rep)
	noTickTwice(t, rep)
	if rep.StandbyReady <= 0 {
		t.Errorf("no time to a ready standby measured: %v", rep.StandbyReady)
	}
}

// TestStoryDestroyPrimaryAsync: the same loss in async mode. What east
// acknowledged but west had not mirrored is gone with east's disk (nothing
// is left to rescue at failback); the report counts it (the lost ids are
// acknowledged ids missing from the rebuilt east after failback) beside
// the standby's lag just before the fault.
func TestStoryDestroyPrimaryAsync(t *testing.T) {
	rep := story(t, Options{Fault: "destroy"}, nil)
	noFailed(t, rep, "GET")
	noTickTwice(t, rep)
	if rep.StandbyReady <= 0 {
		t.Errorf("no time to a ready standby measured: %v", rep.StandbyReady)
	}
	if rep.MessagesAcked == 0 || rep.EntitiesAcked == 0 {
		t.Errorf("no acknowledged writes to check (%d messages, %d entities)", rep.MessagesAcked, rep.EntitiesAcked)
	}
}
