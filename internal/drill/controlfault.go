package drill

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

// controlFault reports whether fault hits the control plane (a traffic
// manager or a control node) rather than a region.
func controlFault(fault string) bool {
	return strings.HasPrefix(fault, "traffic-") || fault == "control-node"
}

// controlTarget resolves the default target of a control-plane fault: the
// deciding traffic manager, or the control node leading the bucket.
func controlTarget(o Options, st status) (string, error) {
	if o.Target != "primary" {
		return o.Target, nil
	}
	if o.Fault == "control-node" {
		if st.Control == nil || st.Control.Leader == "" {
			return "", fmt.Errorf("drill: no control cluster leader in the traffic manager's status")
		}
		return strings.TrimPrefix(st.Control.Leader, "control-"), nil
	}
	if st.Decider == "" {
		return "", fmt.Errorf("drill: no deciding traffic manager in the status")
	}
	return st.Decider, nil
}

// controlSequence: warm up, inject the fault, measure how long until
// another traffic manager decides, restore, run a little more. No region
// fails over: the primary and its epoch must stay as they were.
func (r *run) controlSequence(ctx context.Context, before status) error {
	r.before = before
	r.setPhase("fault:" + r.opts.Fault + " " + r.target)
	r.fault = time.Now()
	if err := r.d.fault(ctx, "/fault", r.opts.Fault, r.target); err != nil {
		return fmt.Errorf("drill: inject %s into %s: %w", r.opts.Fault, r.target, err)
	}
	end := r.fault.Add(r.opts.Duration)
	r.newDecider = -1
	if strings.HasPrefix(r.opts.Fault, "traffic-") {
		_ = poll(ctx, r.opts.Duration, func() bool {
			st, err := r.d.status(ctx)
			if err == nil && st.Deciding && st.Manager != r.target {
				r.newDecider, r.deciderAfter = st.DeciderSince.Sub(r.fault), st.Manager
				return true
			}
			return false
		})
	}
	if err := sleep(ctx, time.Until(end)); err != nil {
		return err
	}
	r.setPhase("restore " + r.target)
	if err := r.d.fault(ctx, "/restore", r.opts.Fault, r.target); err != nil {
		return fmt.Errorf("drill: restore %s: %w", r.target, err)
	}
	r.heal, r.back = time.Now(), time.Now()
	r.setPhase("after the restore")
	return sleep(ctx, 3*time.Second)
}

// terms reads every region's terms as primary.
func (d *deployment) terms(ctx context.Context) (map[string][]role.Term, error) {
	out := map[string][]role.Term{}
	for _, reg := range d.top.Regions {
		key, err := reg.AdminKey()
		if err != nil {
			return nil, err
		}
		var s role.State
		if err := d.call(ctx, http.MethodGet, strings.TrimRight(reg.AdminURL, "/")+"/admin/role", key, nil, &s); err != nil {
			return nil, fmt.Errorf("drill: role of %s: %w", reg.Name, err)
		}
		out[reg.Name] = s.Terms
	}
	return out, nil
}

// overlaps lists every pair of terms of two regions during which both
// could act as primary: the split brain a lease exists to prevent.
func overlaps(terms map[string][]role.Term, since time.Time) []string {
	type held struct {
		region string
		role.Term
	}
	var all []held
	for name, ts := range terms {
		for _, t := range ts {
			if t.End().After(since) {
				all = append(all, held{name, t})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Since.Before(all[j].Since) })
	var out []string
	for i, a := range all {
		for _, b := range all[i+1:] {
			if a.region != b.region && b.Since.Before(a.End()) {
				out = append(out, fmt.Sprintf("%s@%d until %s and %s@%d from %s", a.region, a.Epoch,
					a.End().UTC().Format("15:04:05.000"), b.region, b.Epoch, b.Since.UTC().Format("15:04:05.000")))
			}
		}
	}
	return out
}
