package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/control"
)

func init() {
	register(&command{
		name:    "control",
		summary: "run a control node: one member of the control cluster that keeps roles and the decider lock",
		run:     runControl,
	})
}

const controlUsage = `Usage: tandem control --name NAME --data DIR [--listen ADDR] [--cluster ADDR --route URL...]

Runs one node of the control cluster: a nats-server with JetStream whose
KV bucket holds which region is primary, its epoch and lease, and which
traffic manager decides (internal/control). Run three, one per failure
domain (docs/deployment.md); traffic managers dial them with --control.
With no --cluster it is a one-node cluster (R1).

Example (three nodes on three machines):
  tandem control --name c1 --data /var/lib/tandem/control --listen 0.0.0.0:4222 \
      --cluster 0.0.0.0:6222 --route nats://c1:6222 --route nats://c2:6222 --route nats://c3:6222
`

func runControl(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem control", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), controlUsage+"\nFlags:\n"); fs.PrintDefaults() }
	var routes stringList
	name := fs.String("name", "", "node name, unique in the control cluster (required)")
	data := fs.String("data", "", "data directory (required)")
	listen := fs.String("listen", "127.0.0.1:4222", "client address traffic managers and regions dial")
	clusterAddr := fs.String("cluster", "", "cluster (route) address; empty runs a one-node cluster")
	fs.Var(&routes, "route", "route URL of a cluster member, nats://host:port (repeatable; may include this node)")
	leaf := fs.String("leaf-listen", "", "leafnode address regions link to when there are three or more (the control cluster is their hub), e.g. 0.0.0.0:7422")
	var logf logFlags
	logf.register(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *name == "" || *data == "" {
		fmt.Fprintln(os.Stderr, "tandem control: --name and --data are required")
		fs.Usage()
		return errUsage
	}
	logger, err := logf.logger()
	if err != nil {
		return err
	}
	n := control.NewNode(control.NodeOptions{Name: *name, Dir: *data, Listen: *listen, ClusterListen: *clusterAddr,
		Routes: routes, LeafListen: *leaf, Logger: logger})
	if err := n.Start(ctx); err != nil {
		return err
	}
	defer n.Shutdown()
	logger.Info("control node started", "name", *name, "client", n.ClientURL(), "cluster", *clusterAddr, "routes", strings.Join(routes, ","), "leaf", *leaf)
	return watchNode(ctx, n, *name)
}

// watchNode says once when the node has joined a cluster with a leader,
// and ends the command (non-zero) when nats-server found something fatal,
// such as its cluster port in use.
func watchNode(ctx context.Context, n *control.Node, name string) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	said := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := n.Err(); err != nil {
			return err
		}
		if !said && n.Ready() {
			fmt.Fprintf(os.Stderr, "control node %s ready\n", name)
			said = true
		}
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (a *stringList) String() string     { return strings.Join(*a, ",") }
func (a *stringList) Set(v string) error { *a = append(*a, v); return nil }
