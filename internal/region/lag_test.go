package region

import (
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/replicate"
)

// TestReplicaLagBound: what X-Tandem-Replica-Lag says for a mirror status.
func TestReplicaLagBound(t *testing.T) {
	polled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := polled.Add(300 * time.Millisecond)
	mirror := func(lagMsgs uint64, lagSecs, contact float64) replicate.MirrorStatus {
		return replicate.MirrorStatus{LagMessages: lagMsgs, LagSeconds: lagSecs, LastContactSeconds: contact, Active: true}
	}
	cases := []struct {
		name    string
		st      replicate.Status
		known   bool
		bound   time.Duration
		lagMsgs uint64
	}{
		{"not ready", replicate.Status{Polled: polled, Updated: polled, PrimaryReachable: true, Mirrors: []replicate.MirrorStatus{mirror(0, 0, 0.1)}}, false, 0, 0},
		{"caught up: the poll's age", replicate.Status{Ready: true, PrimaryReachable: true, Polled: polled, Updated: polled.Add(50 * time.Millisecond),
			Mirrors: []replicate.MirrorStatus{mirror(0, 0, 0.1), mirror(0, 0, 0.2)}}, true, 300 * time.Millisecond, 0},
		{"behind: oldest missing write's age plus the poll's", replicate.Status{Ready: true, PrimaryReachable: true, Polled: polled, Updated: polled,
			Mirrors: []replicate.MirrorStatus{mirror(3, 1.5, 0.1), mirror(1, 0.25, 0.1)}}, true, 1800 * time.Millisecond, 4},
		{"primary unreachable: time since last contact", replicate.Status{Ready: true, Polled: polled, Updated: polled,
			Mirrors: []replicate.MirrorStatus{mirror(2, 0, 4), mirror(0, 0, 1)}}, true, 4300 * time.Millisecond, 2},
		{"a mirror in error", replicate.Status{Ready: true, PrimaryReachable: true, Polled: polled, Updated: polled,
			Mirrors: []replicate.MirrorStatus{mirror(0, 0, 0.1), {Error: "local mirror missing; re-created at the next poll", LastContactSeconds: -1}}}, false, 0, 0},
		{"primary unreachable, never heard from", replicate.Status{Ready: true, Polled: polled, Updated: polled,
			Mirrors: []replicate.MirrorStatus{mirror(0, 0, -1)}}, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.st.Primary = "east"
			got := lagOf(c.st, now)
			if got.Primary != "east" || got.Known != c.known || got.Bound != c.bound || (c.known && got.LagMessages != c.lagMsgs) {
				t.Fatalf("lagOf = %+v, want known=%v bound=%s messages=%d", got, c.known, c.bound, c.lagMsgs)
			}
		})
	}
}
