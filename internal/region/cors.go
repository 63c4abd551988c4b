package region

import "github.com/tandemhq/tandem/internal/funcapp"

// corsFor is an app's CORS policy: the CORS_ALLOWED_ORIGINS and
// CORS_SUPPORT_CREDENTIALS app settings when CORS_ALLOWED_ORIGINS is set
// (how a deployed app configures it), else local.settings.json Host.CORS
// and Host.CORSCredentials (as Core Tools applies them). A bad setting
// allows no origin and is logged.
func (r *Region) corsFor(app string) funcapp.CORS {
	r.mu.Lock()
	rt := r.apps[app]
	r.mu.Unlock()
	values := r.svc.settings(app).Values
	if values["CORS_ALLOWED_ORIGINS"] != "" {
		c, err := funcapp.ParseCORSSetting(values["CORS_ALLOWED_ORIGINS"], values["CORS_SUPPORT_CREDENTIALS"])
		if err != nil {
			r.log.Warn("CORS setting ignored", "app", app, "err", err)
		}
		return c
	}
	if rt == nil {
		return funcapp.CORS{}
	}
	return rt.app.Settings.CORS
}
