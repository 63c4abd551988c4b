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
	noFailed(t, rep, "GET")
	noLoss(t, rep)
	noTickTwice(t, rep)
	if rep.StandbyReady <= 0 {
		t.Errorf("no time to a ready standby measured: %v", rep.StandbyReady)
	}
}
