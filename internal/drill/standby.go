package drill

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// lag is how many of the primary's messages region's mirrors had not
// stored at their last poll, summed over the mirrors (-1 when unknown).
func (d *deployment) lag(ctx context.Context, region string) int {
	st, ok := d.mirrorStatus(ctx, region)
	if !ok || st.Mirrors == nil {
		return -1
	}
	n := 0
	for _, m := range st.Mirrors.Mirrors {
		n += int(m.LagMessages)
	}
	return n
}

type mirrorStatus struct {
	Mode    string `json:"mode"`
	Primary string `json:"primary"`
	Mirrors *struct {
		Ready   bool `json:"ready"`
		Mirrors []struct {
			LagMessages uint64 `json:"lagMessages"`
		} `json:"mirrors"`
	} `json:"mirrors"`
}

func (d *deployment) mirrorStatus(ctx context.Context, region string) (mirrorStatus, bool) {
	var st mirrorStatus
	r := d.region(region)
	if r == nil {
		return st, false
	}
	key, err := r.AdminKey()
	if err != nil {
		return st, false
	}
	err = d.call(ctx, http.MethodGet, strings.TrimRight(r.AdminURL, "/")+"/admin/replication", key, nil, &st)
	return st, err == nil
}

// seeded reports whether region is a secondary whose mirrors all exist and
// hold everything the primary had at their last poll: a ready standby. For
// a region rebuilt after destroy, that is the end of its seeding.
func (d *deployment) seeded(ctx context.Context, region string) bool {
	st, ok := d.mirrorStatus(ctx, region)
	if !ok || st.Mode != "secondary" || st.Mirrors == nil || !st.Mirrors.Ready || len(st.Mirrors.Mirrors) == 0 {
		return false
	}
	for _, m := range st.Mirrors.Mirrors {
		if m.LagMessages > 0 {
			return false
		}
	}
	return true
}

// followsSeeded reports whether region is a seeded secondary of primary.
func (d *deployment) followsSeeded(ctx context.Context, region, primary string) bool {
	st, ok := d.mirrorStatus(ctx, region)
	return ok && st.Primary == primary && d.seeded(ctx, region)
}

// waitFollowers waits until every region but the primary is a seeded
// secondary of it: with three or more regions, those that followed
// another primary during the drill have retargeted their mirrors.
func (r *run) waitFollowers(ctx context.Context, primary string) error {
	for _, reg := range r.d.top.Regions {
		if reg.Name == primary {
			continue
		}
		r.setPhase("waiting for " + reg.Name + " to follow " + primary)
		if err := poll(ctx, time.Minute, func() bool { return r.d.followsSeeded(ctx, reg.Name, primary) }); err != nil {
			return fmt.Errorf("drill: %s is not a seeded standby of %s after the failback: %w", reg.Name, primary, err)
		}
	}
	return nil
}

// waitStandby waits until the restored region is a seeded secondary and
// records when (unless it is the primary already: nothing to seed).
func (r *run) waitStandby(ctx context.Context, region string) error {
	st, err := r.d.status(ctx)
	if err == nil && st.Primary == region {
		return nil
	}
	if err := poll(ctx, 2*time.Minute, func() bool { return r.d.seeded(ctx, region) }); err != nil {
		return fmt.Errorf("drill: %s did not become a seeded standby: %w", region, err)
	}
	r.ready = time.Now()
	return nil
}

func (r *run) standbyReady() time.Duration {
	if r.ready.IsZero() {
		return 0
	}
	return r.ready.Sub(r.restore)
}
