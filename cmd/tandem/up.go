package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/cluster"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/topology"
)

func init() {
	register(&command{name: "up", summary: "run regions, the traffic manager and the example apps locally, in one command", run: runUp})
}

type upFlags struct {
	dir, http, admin, dns    string
	http2, admin2, dns2      string
	regions, managers, nodes int
	regionPort               int
	apps                     []string
	log                      logFlags
}

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem up", flag.ContinueOnError)
	var f upFlags
	var apps appFlags
	fs.StringVar(&f.dir, "dir", ".tandem", "state directory (region data, keys, topology file, logs)")
	fs.IntVar(&f.regions, "regions", 2, "number of regions (east, west, then region3...)")
	fs.StringVar(&f.http, "http", "127.0.0.1:7071", "public address of the first traffic manager (its proxy)")
	fs.StringVar(&f.admin, "admin", "127.0.0.1:7070", "first traffic manager's admin address")
	fs.StringVar(&f.dns, "dns", "127.0.0.1:5353", "first traffic manager's DNS address")
	fs.StringVar(&f.http2, "http2", "127.0.0.1:7072", "public address of the second traffic manager")
	fs.StringVar(&f.admin2, "admin2", "127.0.0.1:7073", "second traffic manager's admin address")
	fs.StringVar(&f.dns2, "dns2", "127.0.0.1:5354", "second traffic manager's DNS address")
	fs.IntVar(&f.managers, "traffic-managers", 2, "number of traffic managers (1 or 2; each its own process)")
	fs.IntVar(&f.nodes, "control-nodes", 3, "number of control nodes (1 or 3; each its own process)")
	fs.IntVar(&f.regionPort, "region-port", 7101, "first region's port; the others follow")
	fs.Var(&apps, "app", "app folder to deploy (repeatable; default the examples)")
	f.log.register(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if f.regions < 1 {
		return errors.New("--regions must be at least 1")
	}
	if f.managers < 1 || f.managers > 2 {
		return errors.New("--traffic-managers must be 1 or 2")
	}
	if f.nodes != 1 && f.nodes != 3 {
		return errors.New("--control-nodes must be 1 or 3 (a quorum needs an odd number)")
	}
	for _, a := range apps {
		f.apps = append(f.apps, a.Dir)
	}
	return up(ctx, f)
}

func up(ctx context.Context, f upFlags) error {
	logger, err := f.log.logger()
	if err != nil {
		return err
	}
	if err := checkPortsFree(f); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the tandem binary: %w", err)
	}
	dir, _ := filepath.Abs(f.dir)
	apps, err := upApps(f.apps, dir, self)
	if err != nil {
		return err
	}
	fmt.Printf("Starting %d regions, %d control nodes and %d traffic managers (state in %s)...\n", f.regions, f.nodes, f.managers, dir)
	listen := []topology.Listen{{HTTP: f.http, Admin: f.admin, DNS: f.dns}, {HTTP: f.http2, Admin: f.admin2, DNS: f.dns2}}
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: self, Dir: dir, Regions: regionNames(f.regions), Apps: apps,
		Traffic: listen[:f.managers], TrafficManagers: f.managers, ControlNodes: f.nodes, RegionPort: f.regionPort,
		ProbeInterval: 300 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond, Lease: 2 * time.Second,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	ctl, err := c.ServeControl("127.0.0.1:0")
	if err != nil {
		_ = c.Shutdown(context.Background())
		return err
	}
	defer ctl.Close()
	printUp(c, apps)
	<-ctx.Done()
	fmt.Println("\nStopping...")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Shutdown(sctx)
}

func regionNames(n int) []string {
	names := []string{"east", "west"}
	for i := 3; i <= n; i++ {
		names = append(names, fmt.Sprintf("region%d", i))
	}
	return names[:n]
}

// upApps returns absolute app folders: the user's (building a Go handler
// from the app's src folder), or by default the examples embedded in this
// binary, written under dir/apps.
func upApps(given []string, dir, self string) ([]string, error) {
	if len(given) == 0 {
		return writeExamples(dir, self)
	}
	var out []string
	for _, d := range given {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		if err := buildHandler(abs); err != nil {
			return nil, err
		}
		if _, err := funcapp.Load("", abs); err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}

func buildHandler(app string) error {
	src := filepath.Join(app, "src")
	if _, err := os.Stat(filepath.Join(src, "main.go")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	fmt.Printf("Building %s/handler...\n", filepath.Base(app))
	cmd := exec.Command("go", "build", "-o", filepath.Join(app, "handler"), "./src")
	cmd.Dir = app
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build handler of %s: %w\n%s", app, err, out)
	}
	return nil
}

func printUp(c *cluster.Cluster, apps []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nTandem is up.\n\n  public URLs     %s  (every traffic manager routes to the primary)\n", strings.Join(c.URLs(), "  "))
	for _, t := range c.TrafficManagers() {
		fmt.Fprintf(&b, "  traffic %-7s %s/status  log %s\n", t.ID, t.AdminURL(), t.LogPath())
	}
	fmt.Fprintf(&b, "  admin key       %s\n", c.TrafficKeyFile())
	for _, n := range c.ControlNodes() {
		fmt.Fprintf(&b, "  control %-7s nats://%s  log %s\n", n.Name, n.ClientAddr(), n.LogPath())
	}
	fmt.Fprintf(&b, "  topology        %s\n", c.TopologyFile())
	for _, r := range c.Regions() {
		fmt.Fprintf(&b, "  region %-8s %s  master key in %s, log %s\n", r.Name, r.DirectURL(), r.MasterKeyFile(), filepath.Join(r.DataDir, "region.log"))
	}
	fmt.Fprintf(&b, "  primary         %s\n  apps            %s\n", c.Primary(), appNames(apps))
	printTry(&b, c, apps)
	fmt.Print(b.String())
}

func appNames(apps []string) string {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = filepath.Base(a)
	}
	return strings.Join(names, ", ")
}

var exampleApp = map[string]bool{"hello-go": true, "hello-python": true, "drill": true}

// printTry prints what to try, with this binary's name and only the
// example apps actually loaded.
func printTry(b *strings.Builder, c *cluster.Cluster, apps []string) {
	bin, loaded := binaryName(), map[string]bool{}
	for _, a := range apps {
		loaded[filepath.Base(a)] = true
	}
	east := c.Regions()[0]
	fmt.Fprintf(b, "\nTry:\n")
	if loaded["hello-go"] {
		fmt.Fprintf(b, "  curl %s/api/hello/you\n", c.URL())
		fmt.Fprintf(b, "  KEY=$(curl -s -H \"x-functions-key: $(cat %s)\" %s/admin/apps/hello-go/host/functionkeys/default | sed 's/.*\"value\":\"\\([^\"]*\\)\".*/\\1/')\n", east.MasterKeyFile(), east.DirectURL())
		fmt.Fprintf(b, "  curl -X POST -H \"x-functions-key: $KEY\" -d 'two apples' %s/api/orders/1\n", c.URL())
		fmt.Fprintf(b, "  curl -H \"x-functions-key: $KEY\" %s/api/orders/1\n", c.URL())
	}
	if loaded["hello-python"] {
		fmt.Fprintf(b, "  curl -H 'Host: hello-python.localhost' %s/api/greet/ada\n", c.URL())
	}
	for _, a := range apps {
		if name := filepath.Base(a); !exampleApp[name] {
			fmt.Fprintf(b, "  curl -H 'Host: %s.localhost' %s/api/...   (app %s; its routes are in its function.json files)\n", name, c.URL(), name)
		}
	}
	fmt.Fprintf(b, "  status page: %s/ui   (sign in with the key in %s)\n", c.AdminURL(), c.TrafficKeyFile())
	fmt.Fprintf(b, "  %s failover --to west --planned --traffic %s --key $(cat %s)\n", bin, c.AdminURL(), c.TrafficKeyFile())
	if loaded["drill"] {
		fmt.Fprintf(b, "  %s drill --fault kill --topology %s\n", bin, c.TopologyFile())
		fmt.Fprintf(b, "  %s drill --fault traffic-kill --topology %s   # kill -9 the deciding traffic manager\n", bin, c.TopologyFile())
	}
	fmt.Fprintf(b, "\nCtrl-C stops everything.\n")
}
