package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/topology"
)

func init() {
	register(&command{name: "deploy", summary: "pack an app folder and deploy it to every region", run: runDeploy})
	register(&command{name: "status", summary: "app versions per region, with drift flagged", run: runStatus})
}

const deployUsage = `Usage: tandem deploy DIR [--app NAME] --topology FILE
       tandem deploy --catch-up --topology FILE [--app NAME] [--from REGION]

Packs the app folder DIR (every file except .git and what .funcignore
excludes; the version is a hash of the content) and uploads it to every
region of the deployment file. Each region stores the package, switches to
it once it is ready and lets requests in flight on the old version finish.
local.settings.json travels with the package but seeds settings only the
first time an app is loaded; change settings with the settings API.

A region that was down during a deploy loads its last stored version when
it restarts; a secondary then installs the primary's newer deploy by
itself. --catch-up does it for any region: for each app whose versions
differ, the newest deploy (or REGION's, with --from) is copied to the
regions that do not serve it.
`

const statusUsage = `Usage: tandem status --topology FILE

Lists each app's package version in every region of the deployment file
and flags DRIFT where reachable regions differ, miss an app or do not
serve their current version.
`

// deployStdout is where results go (tests swap it).
var deployStdout io.Writer = os.Stdout

type deployArgs struct {
	dir, app, topology, from string
	catchUp                  bool
	timeout                  time.Duration
}

func runDeploy(ctx context.Context, args []string) error {
	a, err := parseDeployArgs(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	regions, err := regionClients(a.topology)
	if err != nil {
		return err
	}
	if a.catchUp {
		return catchUp(ctx, regions, a.app, a.from)
	}
	return deployDir(ctx, regions, a.dir, a.app)
}

func parseDeployArgs(args []string) (*deployArgs, error) {
	a := &deployArgs{}
	fs := flag.NewFlagSet("tandem deploy", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), deployUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.StringVar(&a.app, "app", "", "app name (default: the folder's name)")
	fs.StringVar(&a.topology, "topology", "", "deployment file listing the regions (required)")
	fs.BoolVar(&a.catchUp, "catch-up", false, "copy the newest deploy of each drifted app to the regions missing it")
	fs.StringVar(&a.from, "from", "", "with --catch-up: copy this region's versions instead of the newest")
	fs.DurationVar(&a.timeout, "timeout", 10*time.Minute, "give up after this long (a switch waits for in-flight requests)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(rest) == 1 {
		a.dir = rest[0]
	}
	if err := a.check(len(rest)); err != nil {
		fmt.Fprintf(os.Stderr, "tandem deploy: %v\n", err)
		fs.Usage()
		return nil, errUsage
	}
	return a, nil
}

// parseInterleaved parses flags placed before or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (a *deployArgs) check(positional int) error {
	switch {
	case a.topology == "":
		return errors.New("--topology is required")
	case a.catchUp && positional > 0:
		return errors.New("--catch-up takes no folder")
	case !a.catchUp && positional != 1:
		return errors.New("give exactly one app folder")
	case !a.catchUp && a.from != "":
		return errors.New("--from is only for --catch-up")
	case a.app != "":
		return funcapp.ValidAppName(a.app)
	}
	return nil
}

// regionClients reads the deployment file and each region's master key.
func regionClients(path string) ([]*deploy.Client, error) {
	top, err := topology.Load(path)
	if err != nil {
		return nil, err
	}
	out := make([]*deploy.Client, 0, len(top.Regions))
	for _, r := range top.Regions {
		key, err := r.AdminKey()
		if err != nil {
			return nil, fmt.Errorf("region %s: admin key: %w", r.Name, err)
		}
		out = append(out, &deploy.Client{Region: r.Name, URL: r.AdminURL, Key: key})
	}
	return out, nil
}

func deployDir(ctx context.Context, regions []*deploy.Client, dir, app string) error {
	if app == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("deploy %s: %w", dir, err)
		}
		app = filepath.Base(abs)
		if err := funcapp.ValidAppName(app); err != nil {
			return fmt.Errorf("deploy %s: %w (use --app)", dir, err)
		}
	}
	p, err := deploy.Pack(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(deployStdout, "packed %s: version %s, %d files, %d bytes\n", app, deploy.Short(p.Version), len(p.Files), len(p.Archive))
	at := time.Now()
	errs := forEachRegion(regions, func(c *deploy.Client) (string, error) {
		res, err := c.Push(ctx, app, p, at)
		if err != nil {
			return "", err
		}
		if res.Unchanged {
			return "unchanged " + deploy.Short(res.Version), nil
		}
		return "deployed " + deploy.Short(res.Version), nil
	})
	return failedRegions("deploy "+app, errs, len(regions))
}

// forEachRegion runs f for every region at once and prints one line per
// region in order; it returns the failures by region.
func forEachRegion(regions []*deploy.Client, f func(*deploy.Client) (string, error)) map[string]error {
	lines := make([]string, len(regions))
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, c := range regions {
		wg.Go(func() {
			msg, err := f(c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[c.Region], msg = err, "FAILED: "+err.Error()
			}
			lines[i] = c.Region + ": " + msg
		})
	}
	wg.Wait()
	for _, l := range lines {
		fmt.Fprintln(deployStdout, l)
	}
	return errs
}

func failedRegions(what string, errs map[string]error, total int) error {
	if len(errs) == 0 {
		return nil
	}
	names := make([]string, 0, len(errs))
	for n := range errs {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("%s: %d of %d regions failed (%s); a region that was down loads its stored version on restart, a secondary then catches up by itself, or run 'tandem deploy --catch-up'",
		what, len(errs), total, strings.Join(names, ", "))
}

func runStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem status", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), statusUsage+"\nFlags:\n"); fs.PrintDefaults() }
	path := fs.String("topology", "", "deployment file listing the regions (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "tandem status: --topology is required and no arguments are taken")
		fs.Usage()
		return errUsage
	}
	regions, err := regionClients(*path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	printStatus(regions, collect(ctx, regions))
	printServedApps(ctx, deployStdout, regions)
	printReplication(deployStdout, collectReplication(ctx, regions))
	fes, errs := collectFunctionErrors(ctx, regions)
	printFunctionErrors(deployStdout, fes, errs)
	if top, err := topology.Load(*path); err == nil {
		printControl(deployStdout, collectControl(ctx, top))
	}
	return nil
}

// collect asks every region for its packages at once.
func collect(ctx context.Context, regions []*deploy.Client) []deploy.RegionState {
	states := make([]deploy.RegionState, len(regions))
	var wg sync.WaitGroup
	for i, c := range regions {
		wg.Go(func() {
			pkgs, err := c.Packages(ctx)
			states[i] = deploy.RegionState{Region: c.Region, Packages: pkgs, Err: err}
		})
	}
	wg.Wait()
	return states
}

func printStatus(regions []*deploy.Client, states []deploy.RegionState) {
	rows := deploy.Compare(states)
	tw := tabwriter.NewWriter(deployStdout, 2, 4, 2, ' ', 0)
	head := []string{"APP"}
	for _, c := range regions {
		head = append(head, strings.ToUpper(c.Region))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "STATE"), "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(statusLine(regions, row), "\t"))
	}
	_ = tw.Flush()
	for _, st := range states {
		if st.Err != nil {
			fmt.Fprintf(deployStdout, "%s: unreachable: %v\n", st.Region, st.Err)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(deployStdout, "no app packages deployed")
	}
}

// statusLine is one app's row: a version per region, then the state.
func statusLine(regions []*deploy.Client, row deploy.Row) []string {
	cells := []string{row.App}
	for _, c := range regions {
		cells = append(cells, statusCell(row, c.Region))
	}
	state := "ok"
	switch {
	case row.Drift:
		state = "DRIFT (newest: " + row.Newest + ")"
	case len(row.Unreachable) > 0:
		state = "unknown (unreachable: " + strings.Join(row.Unreachable, ", ") + ")"
	}
	return append(cells, state)
}

func statusCell(row deploy.Row, region string) string {
	if contains(row.Unreachable, region) {
		return "?"
	}
	p, ok := row.Regions[region]
	switch {
	case !ok:
		return "-"
	case p.Active != p.Version:
		return deploy.Short(p.Version) + " (not serving: " + firstNonEmpty(p.LoadError, "loading") + ")"
	}
	return deploy.Short(p.Version)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// catchUp ends drift by copying each drifted app's newest deploy (or
// from's) to the reachable regions that do not serve it.
func catchUp(ctx context.Context, regions []*deploy.Client, app, from string) error {
	states := collect(ctx, regions)
	byName := map[string]*deploy.Client{}
	var reachable []string
	for i, st := range states {
		byName[st.Region] = regions[i]
		if st.Err == nil {
			reachable = append(reachable, st.Region)
		} else {
			fmt.Fprintf(deployStdout, "%s: unreachable, skipped: %v\n", st.Region, st.Err)
		}
	}
	if from != "" && byName[from] == nil {
		return fmt.Errorf("catch up: --from %q is not a region of the deployment file", from)
	}
	var errs []error
	pushes := 0
	for _, p := range deploy.Plan(deploy.Compare(states), reachable, from) {
		if app != "" && p.App != app {
			continue
		}
		pushes++
		errs = append(errs, copyPackage(ctx, byName, p))
	}
	if pushes == 0 {
		fmt.Fprintln(deployStdout, "no drift among the reachable regions")
	}
	return errors.Join(errs...)
}

func copyPackage(ctx context.Context, byName map[string]*deploy.Client, p deploy.Push) error {
	pkg, at, err := byName[p.From].Archive(ctx, p.App)
	if err != nil {
		return err
	}
	fmt.Fprintf(deployStdout, "%s %s: copying from %s\n", p.App, deploy.Short(pkg.Version), p.From)
	targets := make([]*deploy.Client, 0, len(p.To))
	for _, n := range p.To {
		targets = append(targets, byName[n])
	}
	errs := forEachRegion(targets, func(c *deploy.Client) (string, error) {
		res, err := c.Push(ctx, p.App, pkg, at)
		if err != nil {
			return "", err
		}
		return "deployed " + deploy.Short(res.Version), nil
	})
	return failedRegions("catch up "+p.App, errs, len(targets))
}
