package region

import (
	"context"
	"errors"
	"time"

	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/role"
)

// followControl watches the control cluster's role state (when the region
// was given --control) as well as hearing the deciding traffic manager:
// a region still holding an older epoch that the control cluster names
// another region primary at a newer one steps down at once, even when no
// traffic manager reaches it. It never takes the primary role from the
// KV: a primary needs a lease, and only the decider grants one.
func (r *Region) followControl() {
	if r.opts.Control == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopControl = cancel
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		for ctx.Err() == nil {
			err := r.watchControl(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("control cluster: not following the role state; retrying", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second): // reconnect pace
			}
		}
	}()
}

func (r *Region) watchControl(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	s, err := control.Open(octx, control.StoreOptions{URLs: r.opts.Control, Creds: r.opts.ControlCreds,
		Name: "tandem-region-" + r.opts.Name, ReadOnly: true, Logger: r.log})
	cancel()
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := s.WatchRole(ctx)
	if err != nil {
		return err
	}
	for e := range entries {
		r.applyControl(ctx, e.Role)
	}
	return errors.New("control role watch ended")
}

// applyControl steps down to secondary at a newer epoch naming another
// primary; anything else is the decider's to say.
func (r *Region) applyControl(ctx context.Context, st control.Role) {
	cur := r.role.State()
	if st.Epoch <= cur.Epoch || st.Primary == "" || st.Primary == r.opts.Name {
		return
	}
	req := role.Request{Role: role.Secondary, Epoch: st.Epoch, Primary: st.Primary, Decider: "control:" + st.Decider}
	if _, err := r.role.Apply(ctx, req); err != nil && !errors.Is(err, role.ErrStaleEpoch) {
		r.log.Warn("control cluster names a newer epoch; stepping down failed", "epoch", st.Epoch, "primary", st.Primary, "err", err)
		return
	}
	r.log.Warn("stepped down: the control cluster names a newer primary", "epoch", st.Epoch, "primary", st.Primary, "was", cur.Role, "wasEpoch", cur.Epoch)
}
