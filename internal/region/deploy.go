package region

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/role"
)

// startPackages starts the app package manager (internal/deploy): it loads
// the current stored version of every deployed app, replacing a --app
// folder of the same name (the deployed package is the later intent), and,
// while this region is a secondary, follows the primary's packages across
// the leafnode. Its admin endpoints are mounted by services.registerAdmin.
func (r *Region) startPackages(ctx context.Context) error {
	m, err := deploy.New(deploy.Options{
		Broker: r.broker, DataDir: r.opts.DataDir, Load: r.loadPackage, Follow: r.packageSource,
		Clock: r.opts.Clock, Logger: r.log,
	})
	if err != nil {
		return err
	}
	r.svc.packages.m = m
	if err := m.Start(ctx); err != nil {
		return fmt.Errorf("packages: %w", err)
	}
	r.svc.packages.unsub = r.role.Subscribe(func(role.State) { m.Kick() })
	return nil
}

// stopPackages stops following before the apps stop, so no package is
// loaded into a stopping region.
func (r *Region) stopPackages(ctx context.Context) error {
	p := &r.svc.packages
	if p.unsub != nil {
		p.unsub()
	}
	if p.m == nil {
		return nil
	}
	return p.m.Shutdown(ctx)
}

func (r *Region) loadPackage(ctx context.Context, app, dir string) error {
	return r.LoadApp(ctx, AppSpec{Name: app, Dir: dir})
}

// packageSource is the region whose newer deploys this one installs: the
// primary, while this region is a secondary that knows it.
func (r *Region) packageSource() string {
	s := r.role.State()
	if s.Role != role.Secondary || s.Primary == "" || s.Primary == r.opts.Name {
		return ""
	}
	return s.Primary
}

// Packages is the region's app package manager (nil before Start).
func (r *Region) Packages() *deploy.Manager { return r.svc.packages.m }

// packageService is the services field holding the package manager.
type packageService struct {
	m     *deploy.Manager
	unsub func() // role change subscription
}

// registerAdmin mounts the package endpoints (see deploy.Manager.RegisterAdmin).
func (p *packageService) registerAdmin(mux *http.ServeMux) {
	if p.m != nil {
		p.m.RegisterAdmin(mux)
	}
}
