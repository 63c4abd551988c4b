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
)

func init() {
	register(&command{name: "up", summary: "run regions, the traffic manager and the example apps locally, in one command", run: runUp})
}

type upFlags struct {
	dir, http, admin, dns string
	regions               int
	regionPort            int
	apps                  []string
	level                 string
}

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem up", flag.ContinueOnError)
	var f upFlags
	var apps appFlags
	fs.StringVar(&f.dir, "dir", ".tandem", "state directory (region data, keys, topology file, logs)")
	fs.IntVar(&f.regions, "regions", 2, "number of regions (east, west, then region3...)")
	fs.StringVar(&f.http, "http", "127.0.0.1:7071", "public address (the traffic manager's proxy)")
	fs.StringVar(&f.admin, "admin", "127.0.0.1:7070", "traffic manager admin address")
	fs.StringVar(&f.dns, "dns", "127.0.0.1:5353", "traffic manager DNS address")
	fs.IntVar(&f.regionPort, "region-port", 7101, "first region's port; the others follow")
	fs.Var(&apps, "app", "app folder to deploy (repeatable; default the examples)")
	fs.StringVar(&f.level, "log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.regions < 1 {
		return errors.New("--regions must be at least 1")
	}
	for _, a := range apps {
		f.apps = append(f.apps, a.Dir)
	}
	return up(ctx, f)
}

func up(ctx context.Context, f upFlags) error {
	logger, err := newLogger(f.level)
	if err != nil {
		return err
	}
	if err := checkPortsFree(f); err != nil {
		return err
	}
	apps, err := upApps(f.apps)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the tandem binary: %w", err)
	}
	dir, _ := filepath.Abs(f.dir)
	fmt.Printf("Starting %d regions and the traffic manager (state in %s)...\n", f.regions, dir)
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: self, Dir: dir, Regions: regionNames(f.regions), Apps: apps,
		HTTP: f.http, Admin: f.admin, DNS: f.dns, RegionPort: f.regionPort,
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

// upApps returns absolute app folders, the examples by default, building a
// Go handler from the app's src folder when its executable is missing.
func upApps(given []string) ([]string, error) {
	if len(given) == 0 {
		given = []string{filepath.Join("examples", "hello-go"), filepath.Join("examples", "hello-python"), filepath.Join("examples", "drill")}
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
	fmt.Fprintf(&b, "\nTandem is up.\n\n  public URL      %s  (the traffic manager routes to the primary)\n", c.URL())
	fmt.Fprintf(&b, "  traffic admin   %s/status  (key in %s)\n", c.AdminURL(), c.TrafficKeyFile())
	fmt.Fprintf(&b, "  topology        %s\n", c.TopologyFile())
	for _, r := range c.Regions() {
		fmt.Fprintf(&b, "  region %-8s %s  master key in %s, log %s\n", r.Name, r.DirectURL(), r.MasterKeyFile(), filepath.Join(r.DataDir, "region.log"))
	}
	fmt.Fprintf(&b, "  primary         %s\n  apps            %s\n", c.Primary(), appNames(apps))
	east := c.Regions()[0]
	fmt.Fprintf(&b, "\nTry:\n  curl %s/api/hello/you\n", c.URL())
	fmt.Fprintf(&b, "  curl -H 'Host: hello-python.localhost' %s/api/greet/ada\n", c.URL())
	fmt.Fprintf(&b, "  KEY=$(curl -s -H \"x-functions-key: $(cat %s)\" %s/admin/apps/hello-go/host/functionkeys/default | sed 's/.*\"value\":\"\\([^\"]*\\)\".*/\\1/')\n", east.MasterKeyFile(), east.DirectURL())
	fmt.Fprintf(&b, "  curl -X POST -H \"x-functions-key: $KEY\" -d 'two apples' %s/api/orders/1\n", c.URL())
	fmt.Fprintf(&b, "  curl -H \"x-functions-key: $KEY\" %s/api/orders/1\n", c.URL())
	fmt.Fprintf(&b, "  curl -s %s/status -H \"x-functions-key: $(cat %s)\"\n", c.AdminURL(), c.TrafficKeyFile())
	fmt.Fprintf(&b, "  go run ./cmd/tandem failover --to west --traffic %s --key $(cat %s)\n", c.AdminURL(), c.TrafficKeyFile())
	fmt.Fprintf(&b, "  go run ./cmd/tandem drill --fault kill --topology %s\n\nCtrl-C stops everything.\n", c.TopologyFile())
	fmt.Print(b.String())
}

func appNames(apps []string) string {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = filepath.Base(a)
	}
	return strings.Join(names, ", ")
}
