package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tandemhq/tandem/internal/configsync"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/topology"
)

func init() {
	register(&command{name: "sync", summary: "copy settings, connection strings and keys from the primary to the secondaries (plan, apply, audit)", run: runSync})
}

const syncUsage = `Usage: tandem sync plan  --topology FILE [--app APP] [--from REGION] [--audit]
       tandem sync apply --topology FILE [--app APP] [--from REGION]
       tandem sync audit --topology FILE [--app APP] [--region REGION] [--since D] [--limit N]

Compares the primary's app settings, connection strings and keys with each
secondary's, through the regions' admin APIs, with these rules:
  settings and connection strings are added and modified, never deleted;
  names only in a secondary are reported as orphans; names matching
  replication.exclude (default WEBSITE_*) are region-local and never copied;
  each key x of the primary is written in the same scope as HA-x, unless the
  secondary has its own key of that name (collision, reported); an HA- key
  whose source is gone is reported, never deleted; master keys stay per
  region.
plan prints the differences (values are never printed); apply writes them
and records replication.exclude in each secondary for its continuous mode;
audit (or plan --audit) prints each region's log of applied changes.
The primary is the region whose /healthz reports role primary, or --from.
`

// syncStdout is where results go (tests swap it).
var syncStdout io.Writer = os.Stdout

type syncArgs struct {
	verb, topology, app, from, region string
	audit                             bool
	since                             time.Duration
	limit                             int
	timeout                           time.Duration
}

func runSync(ctx context.Context, args []string) error {
	a, err := parseSyncArgs(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	top, clients, err := syncClients(a.topology)
	if err != nil {
		return err
	}
	if a.verb == "audit" {
		return printAudits(ctx, a, clients)
	}
	if err := syncRegions(ctx, a, top, clients); err != nil {
		return err
	}
	if a.audit {
		return printAudits(ctx, a, clients)
	}
	return nil
}

func parseSyncArgs(args []string) (*syncArgs, error) {
	a := &syncArgs{}
	fs := flag.NewFlagSet("tandem sync", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), syncUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.StringVar(&a.topology, "topology", "", "deployment file listing the regions (required)")
	fs.StringVar(&a.app, "app", "", "only this app (default: every app of the primary)")
	fs.StringVar(&a.from, "from", "", "copy from this region instead of the one reporting the primary role")
	fs.StringVar(&a.region, "region", "", "audit: only this region")
	fs.BoolVar(&a.audit, "audit", false, "plan: also print each region's audit log")
	fs.DurationVar(&a.since, "since", 0, "audit: only entries this recent (e.g. 24h)")
	fs.IntVar(&a.limit, "limit", 100, "audit: the last N entries per region (at most 10000)")
	fs.DurationVar(&a.timeout, "timeout", 2*time.Minute, "give up after this long")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if err := a.check(rest); err != nil {
		fmt.Fprintf(os.Stderr, "tandem sync: %v\n", err)
		fs.Usage()
		return nil, errUsage
	}
	return a, nil
}

func (a *syncArgs) check(rest []string) error {
	if len(rest) != 1 {
		return errors.New("give one of plan, apply or audit")
	}
	a.verb = rest[0]
	switch {
	case a.verb != "plan" && a.verb != "apply" && a.verb != "audit":
		return fmt.Errorf("unknown action %q: use plan, apply or audit", a.verb)
	case a.topology == "":
		return errors.New("--topology is required")
	case a.audit && a.verb != "plan":
		return errors.New("--audit is for plan (use 'tandem sync audit')")
	case a.limit < 1 || a.limit > 10_000:
		return fmt.Errorf("--limit %d: use 1 to 10000", a.limit)
	case a.app != "":
		return funcapp.ValidAppName(a.app)
	}
	return nil
}

// syncClients reads the deployment file and every region's master key.
func syncClients(path string) (*topology.Topology, []*configsync.Client, error) {
	top, err := topology.Load(path)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*configsync.Client, 0, len(top.Regions))
	for _, r := range top.Regions {
		key, err := r.AdminKey()
		if err != nil {
			return nil, nil, fmt.Errorf("region %s: admin key: %w", r.Name, err)
		}
		out = append(out, &configsync.Client{Region: r.Name, URL: r.AdminURL, Key: key})
	}
	return top, out, nil
}

// syncRegions plans or applies the primary's configuration in every other
// region, one table for all; it fails when a region failed.
func syncRegions(ctx context.Context, a *syncArgs, top *topology.Topology, clients []*configsync.Client) error {
	src, err := pickSource(ctx, clients, a.from)
	if err != nil {
		return err
	}
	snap, err := src.Snapshot(ctx, a.app)
	if err != nil {
		return err
	}
	exclude := top.Replication.Exclude
	if len(exclude) == 0 {
		exclude = configsync.DefaultExclude
	}
	fmt.Fprintf(syncStdout, "source: %s (%d apps)  exclude: %s\n", src.Region, len(snap.Apps), strings.Join(exclude, " "))
	req := configsync.Request{Source: snap, Exclude: exclude, App: a.app}
	var results []*configsync.Result
	failed := map[string]error{}
	for _, c := range clients {
		if c.Region == src.Region {
			continue
		}
		res, err := planOrApply(ctx, a.verb, c, req)
		if err != nil {
			failed[c.Region] = err
		}
		if res != nil && res.Region != "" {
			results = append(results, res)
		}
	}
	printPlans(a.verb, results, failed)
	return failedSync(a.verb, failed)
}

func planOrApply(ctx context.Context, verb string, c *configsync.Client, req configsync.Request) (*configsync.Result, error) {
	if verb == "apply" {
		return c.Apply(ctx, req)
	}
	return c.Plan(ctx, req)
}

// pickSource is --from, else the one region reporting the primary role.
func pickSource(ctx context.Context, clients []*configsync.Client, from string) (*configsync.Client, error) {
	var primaries []*configsync.Client
	for _, c := range clients {
		if from != "" && c.Region == from {
			return c, nil
		}
		if role, err := c.Role(ctx); err == nil && role == "primary" {
			primaries = append(primaries, c)
		}
	}
	switch {
	case from != "":
		return nil, fmt.Errorf("--from %s: no such region in the deployment file", from)
	case len(primaries) == 1:
		return primaries[0], nil
	case len(primaries) == 0:
		return nil, errors.New("no reachable region reports the primary role: name the source with --from REGION")
	}
	names := make([]string, 0, len(primaries))
	for _, c := range primaries {
		names = append(names, c.Region)
	}
	return nil, fmt.Errorf("regions %s all report the primary role: name the source with --from REGION", strings.Join(names, ", "))
}

func printPlans(verb string, results []*configsync.Result, failed map[string]error) {
	tw := tabwriter.NewWriter(syncStdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tAPP\tKIND\tWHAT\tNAME\tVALUE\tNOTE")
	for _, r := range results {
		for _, c := range r.Changes {
			fmt.Fprintln(tw, strings.Join(planRow(verb, r.Region, c), "\t"))
		}
	}
	_ = tw.Flush()
	for _, r := range results {
		fmt.Fprintln(syncStdout, summary(verb, r))
	}
	for _, region := range slices.Sorted(maps.Keys(failed)) {
		fmt.Fprintf(syncStdout, "%s: FAILED: %v\n", region, failed[region])
	}
}

// planRow is one change; values are masked.
func planRow(verb, region string, c configsync.Change) []string {
	name, value, note := c.Name, "", c.Reason
	if c.Function != "" {
		name = c.Function + "/" + c.Name
	}
	if c.Kind.Applies() {
		value = "***"
	}
	switch {
	case c.Error != "":
		note = "FAILED: " + c.Error
	case verb == "apply" && c.Applied:
		note = "applied"
	}
	return []string{region, c.App, string(c.Kind), string(c.Class), name, value, note}
}

func summary(verb string, r *configsync.Result) string {
	todo := r.Count(configsync.Add) + r.Count(configsync.Modify)
	done := "to apply"
	if verb == "apply" {
		todo, done = 0, "applied"
		for _, c := range r.Changes {
			if c.Applied {
				todo++
			}
		}
	}
	return fmt.Sprintf("%s: %d %s (%d add, %d modify), %d orphan, %d excluded, %d collision, %d source-deleted, %d skipped, %d unchanged",
		r.Region, todo, done, r.Count(configsync.Add), r.Count(configsync.Modify), r.Count(configsync.Orphan), r.Count(configsync.Excluded),
		r.Count(configsync.Collision), r.Count(configsync.SourceDeleted), r.Count(configsync.Skipped), r.Unchanged)
}

func failedSync(verb string, failed map[string]error) error {
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("sync %s: failed in %s", verb, strings.Join(slices.Sorted(maps.Keys(failed)), ", "))
}

// printAudits prints the audit log of every region (or --region).
func printAudits(ctx context.Context, a *syncArgs, clients []*configsync.Client) error {
	q := configsync.AuditQuery{App: a.app, Limit: a.limit}
	if a.since > 0 {
		q.Since = time.Now().Add(-a.since)
	}
	if a.region != "" && !slices.ContainsFunc(clients, func(c *configsync.Client) bool { return c.Region == a.region }) {
		return fmt.Errorf("--region %s: no such region in the deployment file", a.region)
	}
	tw := tabwriter.NewWriter(syncStdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREGION\tAPP\tKIND\tWHAT\tNAME\tSOURCE\tBY")
	var errs []error
	for _, c := range clients {
		if a.region != "" && c.Region != a.region {
			continue
		}
		entries, err := c.Audit(ctx, q)
		errs = append(errs, err)
		for _, e := range entries {
			name := e.Name
			if e.Function != "" {
				name = e.Function + "/" + name
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Region, e.App, e.Kind, e.Class, name, e.Source, e.By)
		}
	}
	_ = tw.Flush()
	return errors.Join(errs...)
}
