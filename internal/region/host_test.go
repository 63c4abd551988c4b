package region

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHostPicksAppCaseInsensitively: the Host header's first label picks
// the app whatever its case (DNS names are case-insensitive; "SHOP.localhost"
// used to fall back to the first app); a Host that names no app gets the
// region's default app (documented: bare addresses, the traffic manager's
// profile name), and a 404 from it says so instead of being silent.
func TestHostPicksAppCaseInsensitively(t *testing.T) {
	fn := map[string]string{"which": httpFn("anonymous", "which")}
	tr := startRegion(t, nil, testApp{name: "first", forward: true, functions: fn}, testApp{name: "shop", forward: true, functions: fn})
	cases := []struct{ host, want string }{
		{"shop.localhost", "shop"},
		{"SHOP.localhost", "shop"},
		{"Shop.Example.COM:7071", "shop"},
		{"first.localhost", "first"},
		{"127.0.0.1", "first"},
		{"app.tandem.local", "first"},
	}
	for _, c := range cases {
		res := tr.do("GET", "/api/which?env=WEBSITE_SITE_NAME", "", "", "Host", c.host)
		var body struct{ Env map[string]string }
		if err := json.Unmarshal(res.body, &body); err != nil || res.code != 200 {
			t.Fatalf("Host %s: %d %s", c.host, res.code, res.body)
		}
		if got := body.Env["WEBSITE_SITE_NAME"]; got != c.want {
			t.Errorf("Host %s served by app %q, want %q", c.host, got, c.want)
		}
	}
	res := tr.do("GET", "/api/nothing", "", "", "Host", "shpo.localhost")
	if res.code != 404 || !strings.Contains(string(res.body), "default app first") {
		t.Fatalf("unknown host: %d %s, want a 404 that says the default app answered", res.code, res.body)
	}
}
