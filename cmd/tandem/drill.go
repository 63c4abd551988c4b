package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tandemhq/tandem/internal/drill"
)

func init() {
	register(&command{name: "drill", summary: "inject a fault under load, fail back, and report RTO and data integrity", run: runDrill})
}

const drillUsage = `Usage: tandem drill [--fault kill|hang|partition] [--target primary|REGION] [--duration D] [--topology FILE]

Runs client load against a deployment started by 'tandem up' (GETs, POSTs
that queue work, PUTs that write table entities, and the drill app's
one-second timer), injects the fault into the target region, restores it,
fails back, and prints a report: RTO, failed requests by method,
acknowledged messages and entities lost, messages delivered twice, timer
runs twice or missed. Exits 1 if a timer ran twice or, in sync replication
mode, acknowledged data was lost.
`

func runDrill(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem drill", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, drillUsage+"\nFlags:\n"); fs.PrintDefaults() }
	var o drill.Options
	fs.StringVar(&o.Topology, "topology", ".tandem/topology.yaml", "deployment file written by tandem up")
	fs.StringVar(&o.Fault, "fault", "kill", "kill (SIGKILL), hang (SIGSTOP), partition (cut its network links), destroy (SIGKILL and delete its data; restored as a brand-new standby), or failover (planned switches, see --cycles)")
	fs.IntVar(&o.Cycles, "cycles", 1, "with --fault failover: switches to the other region and back")
	fs.StringVar(&o.Target, "target", "primary", "region to fault: primary or a region name")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the fault lasts before the region is restored")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "load before the fault")
	fs.IntVar(&o.GetRate, "get-rate", 100, "GETs per second")
	fs.IntVar(&o.PostRate, "post-rate", 20, "POSTs (queued work) per second")
	fs.IntVar(&o.PutRate, "put-rate", 10, "PUTs (table writes) per second")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch o.Fault {
	case "kill", "hang", "partition", "destroy", "failover":
	default:
		return fmt.Errorf("--fault %q: use kill, hang, partition, destroy or failover", o.Fault)
	}
	o.Progress = os.Stdout
	fmt.Printf("Drill: %s the %s for %s under load...\n", o.Fault, o.Target, o.Duration)
	rep, err := drill.Run(ctx, o)
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	if rep.Broken() {
		return errors.New("the drill found a correctness failure (see the report)")
	}
	return nil
}
