package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/testbin"
)

// echoApp writes a forwarding app served by the echo test handler.
func echoApp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "echo")
	exe := testbin.Build(t, "testdata/handlers/echo")
	files := map[string]string{
		"host.json": `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"` + exe + `"},"enableForwardingHttpRequest":true}}`,
		"who/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},` +
			`{"type":"http","direction":"out","name":"res"}]}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{Binary: testbin.Build(t, "cmd/tandem"), Dir: t.TempDir(), Apps: []string{echoApp(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
	})
	return c
}

// servedBy asks the public URL which region answers ("" on failure).
func servedBy(c *Cluster) string {
	resp, err := http.Get(c.URL() + "/api/who?env=REGION_NAME")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		Env map[string]string `json:"env"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil {
		return ""
	}
	return body.Env["REGION_NAME"]
}

func eventually(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	if err := poll(context.Background(), limit, what, cond); err != nil {
		t.Fatal(err)
	}
}

// TestKillPrimaryFailsOver: the story of a region loss. East serves; east
// is killed; the witness promotes west once east's lease has run out; west
// serves; east comes back and stays secondary.
func TestKillPrimaryFailsOver(t *testing.T) {
	c := startCluster(t)
	if got := servedBy(c); got != "east" {
		t.Fatalf("served by %q before the fault, want east", got)
	}
	if err := c.KillRegion("east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "west to serve", 20*time.Second, func() bool { return servedBy(c) == "west" })
	eventually(t, "west to be primary", 20*time.Second, func() bool { return c.Primary() == "west" })
	if err := c.StartRegion(context.Background(), "east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "east back as a healthy secondary", 20*time.Second, func() bool {
		st, err := c.TrafficStatus(context.Background())
		if err != nil {
			return false
		}
		for _, e := range st.Endpoints {
			if e.Name == "east" {
				return e.Healthy && e.Role == "secondary" && e.RoleConfirmed
			}
		}
		return false
	})
	if p := c.Primary(); p != "west" {
		t.Fatalf("primary after east returned: %q", p)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	c := startCluster(t)
	if err := c.PartitionRegion("east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "west to be primary", 20*time.Second, func() bool { return c.Primary() == "west" })
	eventually(t, "west to serve", 10*time.Second, func() bool { return servedBy(c) == "west" })
	if err := c.HealRegion("east"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "east healthy again", 20*time.Second, func() bool {
		st, err := c.TrafficStatus(context.Background())
		if err != nil {
			return false
		}
		for _, e := range st.Endpoints {
			if e.Name == "east" {
				return e.Healthy && e.RoleConfirmed && e.Role == "secondary"
			}
		}
		return false
	})
	if got := servedBy(c); got != "west" {
		t.Fatalf("after heal served by %q, want west (no flapping back)", got)
	}
}
