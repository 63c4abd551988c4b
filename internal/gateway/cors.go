package gateway

import (
	"net/http"
	"strings"

	"github.com/tandemhq/tandem/internal/funcapp"
)

// CORSFunc returns an app's cross-origin policy (local.settings.json
// Host.CORS and CORSCredentials, or the CORS_ALLOWED_ORIGINS and
// CORS_SUPPORT_CREDENTIALS app settings).
type CORSFunc func(app string) funcapp.CORS

// cors applies the app's policy as ASP.NET Core's CORS middleware does with
// the host's policy (any method, any header): a preflight (OPTIONS with
// Origin and Access-Control-Request-Method) is answered here with 204; an
// allowed origin gets Access-Control-Allow-Origin on every response. It
// reports whether the request is finished.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request, app string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || g.opts.CORS == nil {
		return false
	}
	policy := g.opts.CORS(app)
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	allow, ok := allowOrigin(policy, origin)
	if ok {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", allow)
		if allow != "*" {
			h.Add("Vary", "Origin")
		}
		if policy.Credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if preflight {
			h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
		}
	}
	if preflight {
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for origin: "*"
// for any origin without credentials, the origin itself when it is listed
// (case-insensitively) or when any origin is allowed with credentials.
func allowOrigin(p funcapp.CORS, origin string) (string, bool) {
	for _, o := range p.Origins {
		switch {
		case o == "*" && !p.Credentials:
			return "*", true
		case o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin):
			return origin, true
		}
	}
	return "", false
}
