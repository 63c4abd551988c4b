package traffic

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestStatusPageLogin: the page asks for the key; a wrong key is refused;
// the right one gives an HttpOnly, SameSite=Strict session cookie that
// reads the overview; a change made with the cookie needs the page's
// header.
func TestStatusPageLogin(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{lease: "1s", margin: "100ms"}, east, west), t.TempDir(), clock.Real{})
	base := "http://" + m.AdminAddr()
	resp, body := fetch(t, noRedirect, http.MethodGet, base+"/ui", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `id="login"`) {
		t.Fatalf("GET /ui without a session: %d, no login form", resp.StatusCode)
	}
	if resp, _ := fetch(t, noRedirect, http.MethodPost, base+"/ui/login", url.Values{"key": {"wrong"}}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", resp.StatusCode)
	}
	resp, _ = fetch(t, noRedirect, http.MethodPost, base+"/ui/login", url.Values{"key": {"traffic-admin-key"}}, nil)
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("login: %d, cookie %q", resp.StatusCode, cookie)
	}
	hdr := http.Header{"Cookie": {strings.Split(cookie, ";")[0]}}
	if resp, body := fetch(t, noRedirect, http.MethodGet, base+"/ui/overview", nil, hdr); resp.StatusCode != 200 || !strings.Contains(body, `"regions"`) {
		t.Fatalf("overview with the session: %d %s", resp.StatusCode, body)
	}
	if resp, _ := fetch(t, noRedirect, http.MethodGet, base+"/ui/overview", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("overview without a session: %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, noRedirect, http.MethodPost, base+"/failover", nil, hdr); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a failover with the cookie but not from the page: %d", resp.StatusCode)
	}
}

// TestStatusPageInChromium loads the page in headless Chromium (logged in
// with ?code= once), checks what it shows before and after a planned
// failover, and keeps a screenshot ($TANDEM_ARTIFACTS, else a temporary
// folder).
func TestStatusPageInChromium(t *testing.T) {
	browser := findChromium(t)
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	m := startManager(t, topologyFor(t, setup{lease: "1s", margin: "100ms"}, east, west), t.TempDir(), clock.Real{})
	eventually(t, 10*time.Second, "east primary", func() bool { return m.Status().Epoch == 1 && m.Ready() })
	page := "http://" + m.AdminAddr() + "/ui?code=traffic-admin-key"
	dom := chromium(t, browser, "--dump-dom", page)
	for _, want := range []string{`data-region="east" data-role="primary"`, `data-region="west" data-role="secondary"`, `Make primary`, `data-primary="east"`} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the page before the failover lacks %s:\n%s", want, dom)
		}
	}
	if _, err := m.Failover(context.Background(), "west", true); err != nil {
		t.Fatal(err)
	}
	dom = chromium(t, browser, "--dump-dom", page)
	for _, want := range []string{`data-region="west" data-role="primary"`, `data-primary="west"`, `planned`} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the page after the failover lacks %s:\n%s", want, dom)
		}
	}
	dir := os.Getenv("TANDEM_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "status-page.png")
	chromium(t, browser, "--screenshot="+shot, "--window-size=1400,1000", page)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium on PATH: ./scripts/test installs the Debian package chromium (apt-get install chromium)")
	return ""
}

// chromium runs headless Chromium on url with args and returns its output.
func chromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000"}
	out, err := exec.CommandContext(ctx, browser, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, hdr http.Header) (*http.Response, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = io.Copy(&sb, resp.Body)
	return resp, sb.String()
}
