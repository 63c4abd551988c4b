package traffic

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

// first runs while no epoch has been granted (no stored state). A witness
// whose state was lost must not hand out epoch 1 while a region still holds
// a newer epoch or a live lease, so it asks every region first:
//   - a region reports an epoch: adopt the highest, with the region primary
//     at it (if any), and carry on from there;
//   - every region answered at epoch 0: a fresh deployment, grant epoch 1
//     to the configured primary (or the best healthy region);
//   - some region did not answer: wait one whole lease first, the longest a
//     previous witness's grant can still run.
func (w *witness) first(ctx context.Context, t *table) {
	states, missing := w.askAll(ctx, t)
	if epoch, holder := highest(states); epoch > 0 {
		w.adopt(ctx, t, epoch, holder, states[holder].LeaseUntil)
		return
	}
	if len(missing) > 0 && !w.fenceFirst(t, missing) {
		return
	}
	prim := t.byName[w.state().Primary]
	if prim != nil && prim.cfg.Enabled && !prim.health.view().Known {
		return // the configured primary has not been probed yet
	}
	to := prim
	if to == nil || !to.usable() {
		to = t.best()
	}
	if to == nil {
		w.setStalled("no healthy region to make primary")
		return
	}
	_ = w.promote(ctx, t, to, "initial", "first start of the witness")
}

// fenceFirst starts (once) and checks the one-lease wait of a first start
// that could not reach every region.
func (w *witness) fenceFirst(t *table, missing []string) bool {
	now := w.m.clk.Now()
	w.mu.Lock()
	if w.st.LeaseUntil.IsZero() {
		w.st.LeaseUntil = now.Add(t.top.Traffic.Lease)
	}
	end := w.st.LeaseUntil.Add(t.top.Traffic.LeaseMargin)
	w.mu.Unlock()
	if now.Before(end) {
		w.setStalled(fmt.Sprintf("first start: no answer from %s; granting no role before %s", strings.Join(missing, ", "), end.Format("15:04:05.000")))
		return false
	}
	return true
}

// askAll reads every region's role concurrently; missing lists the
// regions that did not answer.
func (w *witness) askAll(ctx context.Context, t *table) (map[string]role.State, []string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	states := map[string]role.State{}
	var missing []string
	for _, e := range t.eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := w.rc.get(ctx, e, w.callTimeout(t))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				missing = append(missing, e.name())
				return
			}
			states[e.name()] = s
		}()
	}
	wg.Wait()
	sort.Strings(missing)
	return states, missing
}

// highest returns the highest epoch reported and the region primary at it.
func highest(states map[string]role.State) (uint64, string) {
	var epoch uint64
	holder := ""
	for name, s := range states {
		switch {
		case s.Epoch > epoch:
			epoch, holder = s.Epoch, ""
			if s.Role == role.Primary {
				holder = name
			}
		case s.Epoch == epoch && s.Role == role.Primary:
			holder = name
		}
	}
	return epoch, holder
}

// adopt takes over an epoch found at the regions, fencing a whole lease in
// case a region other than holder was granted one by a previous witness.
func (w *witness) adopt(ctx context.Context, t *table, epoch uint64, holder string, held time.Time) {
	now := w.m.clk.Now()
	next := w.state()
	next.Epoch = epoch
	if holder != "" {
		next.Primary = holder
	}
	next.LeaseUntil = latest(next.LeaseUntil, held, now.Add(t.top.Traffic.Lease))
	w.noteGrant(held) // the lease the holder reports: no failover before it ends
	next.Record(Failover{At: now, To: next.Primary, Epoch: epoch, Kind: "resync",
		Reason: fmt.Sprintf("no stored witness state; adopted epoch %d from the regions", epoch)})
	if err := w.save(ctx, next); err != nil {
		w.m.log.Error("witness state not saved", "err", err)
		return
	}
	w.m.log.Warn("witness adopted the regions' epoch", "epoch", epoch, "primary", next.Primary)
}
