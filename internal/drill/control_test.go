package drill

import (
	"testing"
	"time"
)

// The control-plane stories: two regions, three control nodes and two
// traffic managers, the drill's load spread over both public addresses
// like a client with two A records. Losing a traffic manager or a control
// node must cost nothing: no failed GET, no write failed or refused
// through the surviving address (a POST or PUT the faulted manager took
// and never answered is that address's: the client cannot know whether
// it was processed), no timer second missed or run twice, the primary and
// its epoch unchanged, and another manager deciding within one lease.

func TestStoryKillDecidingTrafficManager(t *testing.T) {
	rep := story(t, Options{Fault: "traffic-kill"}, nil)
	controlUnharmed(t, rep, true)
}

func TestStoryHangDecidingTrafficManager(t *testing.T) {
	rep := story(t, Options{Fault: "traffic-hang"}, nil)
	controlUnharmed(t, rep, true)
}

// TestStoryDeciderCutFromQuorum: the decider still reaches the regions but
// not the control cluster: it stops deciding, the other takes over, and at
// no instant are two regions active primaries.
func TestStoryDeciderCutFromQuorum(t *testing.T) {
	rep := story(t, Options{Fault: "traffic-partition"}, nil)
	controlUnharmed(t, rep, true)
}

func TestStoryKillControlLeader(t *testing.T) {
	rep := story(t, Options{Fault: "control-node"}, nil)
	controlUnharmed(t, rep, false)
}

func controlUnharmed(t *testing.T, rep *Report, newDecider bool) {
	t.Helper()
	noFailed(t, rep, "GET")
	for _, m := range []string{"POST", "PUT"} { // through the surviving address
		if n := rep.Failed[m] - rep.FailedUnanswered[m]; n != 0 {
			t.Errorf("%d %s requests failed that the first address answered or never took", n, m)
		}
	}
	noLoss(t, rep)
	noTickTwice(t, rep)
	if rep.TicksMissed != 0 {
		t.Errorf("%d timer seconds missed: %v", rep.TicksMissed, rep.TicksMissedAt)
	}
	if rep.PrimaryAfter != rep.PrimaryBefore || rep.EpochAfter != rep.EpochBefore {
		t.Errorf("the primary changed: %s@%d before, %s@%d after", rep.PrimaryBefore, rep.EpochBefore, rep.PrimaryAfter, rep.EpochAfter)
	}
	if len(rep.ActiveOverlaps) > 0 {
		t.Errorf("two active primaries at once: %v", rep.ActiveOverlaps)
	}
	if !newDecider {
		return
	}
	if rep.NewDecider < 0 || rep.DeciderAfter == rep.DeciderBefore {
		t.Errorf("no new decider during the fault (before %s, after %s)", rep.DeciderBefore, rep.DeciderAfter)
	} else if rep.NewDecider > 2*time.Second { // the story's lease
		t.Errorf("a new decider after %v, more than one lease", rep.NewDecider)
	}
}
