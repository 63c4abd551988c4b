package region

import (
	"path/filepath"
	"testing"
)

// TestConformanceCORS: issue 12 item 7. CORS as Core Tools offers it
// (local.settings.json Host.CORS, Host.CORSCredentials) and as a deployed
// app sets it (CORS_ALLOWED_ORIGINS, CORS_SUPPORT_CREDENTIALS): preflights
// answered with 204, allowed origins echoed, others get no CORS headers.
func TestConformanceCORS(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		if l.name != "go" {
			t.Skip("CORS does not depend on the handler's language")
		}
		tests := []struct {
			name                string
			host                map[string]any
			values              map[string]string
			origin, allow, cred string
			denied              string
		}{
			{"local.settings Host.CORS", map[string]any{"CORS": "https://a.example, https://b.example", "CORSCredentials": true}, nil,
				"https://b.example", "https://b.example", "true", "https://evil.example"},
			{"app setting, any origin", nil, map[string]string{"CORS_ALLOWED_ORIGINS": `["*"]`},
				"https://x.example", "*", "", ""},
			{"app setting wins over local.settings", map[string]any{"CORS": "https://a.example"}, map[string]string{"CORS_ALLOWED_ORIGINS": `["https://c.example"]`, "CORS_SUPPORT_CREDENTIALS": "true"},
				"https://c.example", "https://c.example", "true", "https://a.example"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				app, _ := conformanceApp(t, l, "corsapp", helloFunction)
				for k, v := range tt.values {
					app.settings[k] = v
				}
				dir := app.write(t)
				ls := map[string]any{"IsEncrypted": false, "Values": app.settings}
				if tt.host != nil {
					ls["Host"] = tt.host
				}
				writeJSONFile(t, filepath.Join(dir, "local.settings.json"), ls)
				tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Name: "corsapp", Dir: dir}} })

				pre := tr.do("OPTIONS", "/api/greet/ada", "", "", "Origin", tt.origin, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "X-Custom")
				if pre.code != 204 || pre.header.Get("Access-Control-Allow-Origin") != tt.allow || pre.header.Get("Access-Control-Allow-Methods") != "PUT" ||
					pre.header.Get("Access-Control-Allow-Headers") != "X-Custom" || pre.header.Get("Access-Control-Allow-Credentials") != tt.cred {
					t.Fatalf("preflight: %d %v", pre.code, pre.header)
				}
				get := tr.do("GET", "/api/greet/ada", "", "", "Origin", tt.origin)
				if get.code != 200 || get.header.Get("Access-Control-Allow-Origin") != tt.allow {
					t.Fatalf("GET: %d %v", get.code, get.header)
				}
				if tt.denied != "" {
					if r := tr.do("GET", "/api/greet/ada", "", "", "Origin", tt.denied); r.header.Get("Access-Control-Allow-Origin") != "" {
						t.Fatalf("origin %s allowed: %v", tt.denied, r.header)
					}
				}
			})
		}
	})
}
