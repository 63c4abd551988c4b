package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/testbin"
)

// deployTestTraffic is the traffic section a deployment file needs
// (unused by deploy and status).
const deployTestTraffic = "traffic: {listen: {http: 127.0.0.1:0, admin: 127.0.0.1:0}, adminKeyEnv: TANDEM_TEST_DEPLOY_KEY, profile: {name: app.tandem.local}}\n"

const deployTestKey = "deploy-test-master-key-0123456789abcdefghijklmnopqrstu"

// cliRegion is an in-process region the CLI talks to.
type cliRegion struct {
	name, data string
	apps       []region.AppSpec // loaded from folders, as --app does
	r          *region.Region
}

func (c *cliRegion) start(t *testing.T) {
	t.Helper()
	r, err := region.New(region.Options{Name: c.name, HTTPAddr: "127.0.0.1:0", DataDir: c.data, MasterKeyEnv: deployTestKey, Apps: c.apps,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.r = r
	t.Cleanup(func() { c.stop(t) })
}

func (c *cliRegion) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.r.Shutdown(ctx); err != nil {
		t.Errorf("shutdown %s: %v", c.name, err)
	}
}

// writeDeployTopology writes a deployment file naming the regions.
func writeDeployTopology(t *testing.T, path string, regions ...*cliRegion) {
	t.Helper()
	t.Setenv("TANDEM_TEST_DEPLOY_KEY", deployTestKey)
	var b strings.Builder
	b.WriteString("regions:\n")
	for i, c := range regions {
		fmt.Fprintf(&b, "  - name: %s\n    proxyURL: %s\n    priority: %d\n    adminKeyEnv: TANDEM_TEST_DEPLOY_KEY\n", c.name, c.r.URL(), i+1)
	}
	b.WriteString(deployTestTraffic)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cliApp writes app folder "shop" at revision rev, with the echo handler.
func cliApp(t *testing.T, rev int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shop")
	files := map[string]string{
		"host.json":           `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"` + testbin.Build(t, "testdata/handlers/echo") + `"}}}`,
		"hello/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"res"}]}`,
		"revision.txt":        strconv.Itoa(rev),
		".funcignore":         "*.log\n",
		"debug.log":           "left out",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tandem runs the binary's entry point and returns exit code and output.
func tandem(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	deployStdout = &out
	t.Cleanup(func() { deployStdout = os.Stdout })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args)
	return code, out.String()
}

func expectOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestDeployStatusDriftAndCatchUp(t *testing.T) {
	east, west := &cliRegion{name: "east", data: t.TempDir()}, &cliRegion{name: "west", data: t.TempDir()}
	east.start(t)
	west.start(t)
	top := filepath.Join(t.TempDir(), "deploy.yaml")
	writeDeployTopology(t, top, east, west)
	v1dir, v2dir := cliApp(t, 1), cliApp(t, 2)
	v1, v2 := deploy.Short(mustPack(t, v1dir).Version), deploy.Short(mustPack(t, v2dir).Version)

	code, out := tandem(t, "deploy", v1dir, "--topology", top)
	if code != 0 {
		t.Fatalf("deploy v1 exit %d:\n%s", code, out)
	}
	expectOutput(t, out, "packed shop: version "+v1+", 4 files", "east: deployed "+v1, "west: deployed "+v1)
	_, out = tandem(t, "status", "--topology", top)
	expectOutput(t, out, "shop  "+v1+"  "+v1+"  ok")

	west.stop(t) // west misses the next deploy
	code, out = tandem(t, "deploy", "--topology", top, v2dir, "--app", "shop")
	if code != 1 {
		t.Fatalf("deploy with west down: exit %d, want 1:\n%s", code, out)
	}
	expectOutput(t, out, "east: deployed "+v2, "west: FAILED")
	_, out = tandem(t, "status", "--topology", top)
	expectOutput(t, out, "shop  "+v2+"  ?", "unknown (unreachable: west)", "west: unreachable")

	west.start(t) // restart: loads its stored v1
	writeDeployTopology(t, top, east, west)
	if got := deploy.Short(west.r.Packages().Active("shop")); got != v1 {
		t.Fatalf("west after restart serves %q, want its stored %s", got, v1)
	}
	_, out = tandem(t, "status", "--topology", top)
	expectOutput(t, out, "shop  "+v2+"  "+v1+"  DRIFT (newest: east)")
	t.Logf("tandem status with drift:\n%s", out)

	code, out = tandem(t, "deploy", "--catch-up", "--topology", top)
	if code != 0 {
		t.Fatalf("catch-up exit %d:\n%s", code, out)
	}
	expectOutput(t, out, "shop "+v2+": copying from east", "west: deployed "+v2)
	_, out = tandem(t, "status", "--topology", top)
	expectOutput(t, out, "shop  "+v2+"  "+v2+"  ok")
	_, out = tandem(t, "deploy", "--catch-up", "--topology", top)
	expectOutput(t, out, "no drift among the reachable regions")
}

func mustPack(t *testing.T, dir string) *deploy.Packed {
	t.Helper()
	p, err := deploy.Pack(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeployArgs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want error
		dir  string
	}{
		{"folder first", []string{"app", "--topology", "t.yaml"}, nil, "app"},
		{"folder last", []string{"--topology", "t.yaml", "--app", "shop", "app"}, nil, "app"},
		{"catch-up", []string{"--catch-up", "--topology", "t.yaml", "--from", "east"}, nil, ""},
		{"help", []string{"--help"}, flag.ErrHelp, ""},
		{"no topology", []string{"app"}, errUsage, ""},
		{"no folder", []string{"--topology", "t.yaml"}, errUsage, ""},
		{"two folders", []string{"a", "b", "--topology", "t.yaml"}, errUsage, ""},
		{"folder with catch-up", []string{"a", "--catch-up", "--topology", "t.yaml"}, errUsage, ""},
		{"from without catch-up", []string{"a", "--from", "east", "--topology", "t.yaml"}, errUsage, ""},
		{"bad app name", []string{"a", "--app", "bad_name", "--topology", "t.yaml"}, errUsage, ""},
		{"unknown flag", []string{"a", "--nope"}, errUsage, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := parseDeployArgs(c.args)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err == nil && a.dir != c.dir {
				t.Fatalf("dir %q, want %q", a.dir, c.dir)
			}
		})
	}
}

func TestDeployReportsConfigErrors(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "deploy.yaml")
	body := "regions:\n  - name: east\n    proxyURL: http://127.0.0.1:1\n    priority: 1\n    adminKeyEnv: TANDEM_TEST_UNSET_KEY\n" + deployTestTraffic
	if err := os.WriteFile(top, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TANDEM_TEST_UNSET_KEY", "")
	_, err := regionClients(top)
	if err == nil || !strings.Contains(err.Error(), "region east: admin key") || !strings.Contains(err.Error(), "TANDEM_TEST_UNSET_KEY") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := regionClients(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing deployment file accepted")
	}
}
