package region

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tandemhq/tandem/internal/configsync"
	"github.com/tandemhq/tandem/internal/role"
)

// configSync is the services field running internal/configsync: while this
// region is a secondary that knows its primary, it copies the primary's
// app settings, connection strings and keys (as HA- keys) across the
// leafnode; in every region it serves /admin/sync/* for tandem sync.
type configSync struct {
	s     *configsync.Syncer
	unsub func() // role change subscription
}

// startConfigSync starts the syncer after the keys and settings stores. It
// follows the same source as app packages (packageSource: the primary,
// while this region is a secondary) and re-reads it on every role change.
func (r *Region) startConfigSync(ctx context.Context) error {
	s, err := configsync.New(configsync.Options{
		Broker: r.broker, Settings: r.svc.keyed.settings, Keys: r.svc.keyed.keys,
		Source: r.packageSource, Registerer: r.reg, Clock: r.opts.Clock, Logger: r.log,
	})
	if err != nil {
		return fmt.Errorf("configsync: %w", err)
	}
	if err := s.Start(ctx); err != nil {
		return fmt.Errorf("configsync: %w", err)
	}
	r.svc.configsync.s = s
	r.svc.configsync.unsub = r.role.Subscribe(func(role.State) { s.Kick() })
	return nil
}

func (c *configSync) shutdown(ctx context.Context) error {
	if c.unsub != nil {
		c.unsub()
	}
	if c.s == nil {
		return nil
	}
	return c.s.Shutdown(ctx)
}

func (c *configSync) registerAdmin(mux *http.ServeMux) {
	if c.s != nil {
		c.s.RegisterAdmin(mux)
	}
}

// ConfigSync is the region's settings and keys replicator (nil before Start).
func (r *Region) ConfigSync() *configsync.Syncer { return r.svc.configsync.s }
