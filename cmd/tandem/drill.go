package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/tandemhq/tandem/internal/drill"
)

func init() {
	register(&command{name: "drill", summary: "inject a fault under load, fail back, and report RTO and data integrity", run: runDrill})
}

const drillUsage = `Usage: tandem drill [--fault FAULT] [--target primary|NAME] [--duration D] [--topology FILE]

Runs client load against a deployment started by 'tandem up' (GETs, POSTs
that queue work, PUTs that write table entities, and the drill app's
one-second timer) through every traffic manager's public address, injects
the fault, restores it, fails back, and prints a report: RTO, failed
requests by method, acknowledged messages and entities lost, messages
delivered twice, timer runs twice or missed, and whether two regions were
ever active primaries at once (from the regions' own role history).
Exits 1 if a timer ran twice, two primaries overlapped or, in sync
replication mode, acknowledged data was lost.

Faults of a region (target: primary or a region name): kill, hang,
partition, failover (planned switches). Faults of the control plane
(target: primary means the deciding traffic manager, or the control node
leading the control bucket): traffic-kill, traffic-hang, traffic-partition
(cut from the control quorum), control-node (kill -9 of a control node);
the primary and its epoch must not change.

Examples:
  tandem drill --fault kill
  tandem drill --fault traffic-kill
  tandem drill --fault control-node --target c2
`

func runDrill(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem drill", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), drillUsage+"\nFlags:\n"); fs.PrintDefaults() }
	var o drill.Options
	fs.StringVar(&o.Topology, "topology", ".tandem/topology.yaml", "deployment file written by tandem up")
	fs.StringVar(&o.Fault, "fault", "kill", "kill (SIGKILL), hang (SIGSTOP), partition (cut its network links), destroy (SIGKILL and delete its data; restored as a brand-new standby), failover (planned switches, see --cycles), traffic-kill, traffic-hang, traffic-partition or control-node")
	fs.IntVar(&o.Cycles, "cycles", 1, "with --fault failover: switches to the other region and back")
	fs.IntVar(&o.Chain, "chain", 1, "with kill, hang, partition or destroy: how many primaries to fault in a row, each once the region that took over from the last is primary (2 with three regions: the third leads)")
	fs.StringVar(&o.Target, "target", "primary", "what to fault: primary (the primary region; for control-plane faults the deciding traffic manager or the control leader), a region, a traffic manager id or a control node name")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the fault lasts before the region is restored")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "load before the fault")
	fs.IntVar(&o.GetRate, "get-rate", 100, "GETs per second")
	fs.IntVar(&o.PostRate, "post-rate", 20, "POSTs (queued work) per second")
	fs.IntVar(&o.PutRate, "put-rate", 10, "PUTs (table writes) per second")
	fs.IntVar(&o.BlobRate, "blob-rate", 5, "blob writes (fired by a blob trigger) per second")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch o.Fault {
	case "kill", "hang", "partition", "destroy", "failover", "traffic-kill", "traffic-hang", "traffic-partition", "control-node":
	default:
		return fmt.Errorf("--fault %q: use kill, hang, partition, destroy, failover, traffic-kill, traffic-hang, traffic-partition or control-node", o.Fault)
	}
	if o.Chain < 1 || (o.Chain > 1 && !slices.Contains([]string{"kill", "hang", "partition", "destroy"}, o.Fault)) {
		return fmt.Errorf("--chain %d: at least 1, and more only with kill, hang, partition or destroy", o.Chain)
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
