package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/internal/topology"
	"github.com/tandemhq/tandem/internal/traffic"
)

func init() {
	register(&command{
		name:    "traffic",
		summary: "run the traffic manager: probes, routing proxy, DNS and region roles",
		run:     runTraffic,
	})
}

const trafficUsage = `Usage: tandem traffic --config FILE [--data DIR] [--control URLS --id ID]

Runs a traffic manager described by the topology file (docs/topology.md):
the L7 proxy, the DNS answerer and the admin API (GET /status, GET /metrics,
POST /failover). Any number run at once; the control cluster (--control,
nodes started with 'tandem control') holds the primary region, its epoch
and lease, and chooses which manager decides. Without --control a one-node
control cluster runs inside this process under DIR. --http, --admin and
--dns override the file's traffic.listen, so managers share one file.
SIGHUP reloads the file without dropping traffic.
`

func runTraffic(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem traffic", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), trafficUsage+"\nFlags:\n"); fs.PrintDefaults() }
	config := fs.String("config", "", "topology file (YAML, required)")
	data := fs.String("data", "", "data directory for the witness state (default: traffic-data beside the config file)")
	var logf logFlags
	logf.register(fs)
	var o traffic.Options
	fs.StringVar(&o.Control, "control", "", "control cluster client URLs, comma-separated (default: embedded one-node cluster in --data)")
	fs.StringVar(&o.ControlCreds, "control-creds", "", "credentials file for the control cluster")
	fs.IntVar(&o.ControlReplicas, "control-replicas", 0, "copies of the control bucket when created (default min(3, cluster size))")
	fs.StringVar(&o.ID, "id", "", "this manager's name, unique among managers (default host name and a random suffix)")
	fs.StringVar(&o.Listen.HTTP, "http", "", "proxy address (overrides traffic.listen.http)")
	fs.StringVar(&o.Listen.Admin, "admin", "", "admin address (overrides traffic.listen.admin)")
	fs.StringVar(&o.Listen.DNS, "dns", "", "DNS address (overrides traffic.listen.dns)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *config == "" {
		fmt.Fprintln(os.Stderr, "tandem traffic: --config is required")
		fs.Usage()
		return errUsage
	}
	if *data == "" {
		*data = filepath.Join(filepath.Dir(*config), "traffic-data")
	}
	logger, err := logf.logger()
	if err != nil {
		return err
	}
	top, err := topology.Load(*config)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// A proxy's live heap is small and its garbage is per request: trade
		// a few MB for less GC CPU (measured +5-15% req/s in bench/traffic).
		debug.SetGCPercent(400)
	}
	o.Topology, o.DataDir, o.Logger = top, *data, logger
	m := traffic.New(o)
	if err := m.Start(ctx); err != nil {
		return err
	}
	return serveTraffic(ctx, m, *config)
}

// serveTraffic runs until ctx ends, reloading the topology on SIGHUP.
func serveTraffic(ctx context.Context, m *traffic.Manager, config string) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return m.Shutdown(sctx)
		case <-hup:
			reloadTraffic(m, config)
		}
	}
}

func reloadTraffic(m *traffic.Manager, config string) {
	top, err := topology.Load(config)
	if err == nil {
		err = m.Reload(top)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tandem traffic: reload refused, the running configuration stays: %v\n", err)
	}
}
