package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:    "failover",
		summary: "move the primary role to another region through the traffic manager",
		run:     runFailover,
	})
}

const failoverUsage = `Usage: tandem failover --to NAME [--planned] --traffic URL [--key KEY]

Asks the traffic manager (its admin address, e.g. http://127.0.0.1:7070) to
make region NAME the primary at the next epoch.

  --planned  the old primary must first confirm it stepped down; if it
             cannot, nothing changes. Without it, an unreachable old primary
             is waited out until the lease it holds has run out.

The admin key comes from --key or the TANDEM_TRAFFIC_KEY environment variable.
`

// failoverStdout is where the result goes (tests swap it).
var failoverStdout io.Writer = os.Stdout

type failoverArgs struct {
	to, trafficURL, key string
	planned             bool
	timeout             time.Duration
}

func runFailover(ctx context.Context, args []string) error {
	a, err := parseFailoverArgs(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.run(ctx)
}

func parseFailoverArgs(args []string) (*failoverArgs, error) {
	a := &failoverArgs{}
	fs := flag.NewFlagSet("tandem failover", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), failoverUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.StringVar(&a.to, "to", "", "region to promote (required)")
	fs.BoolVar(&a.planned, "planned", false, "wait for the old primary to confirm it stepped down")
	fs.StringVar(&a.trafficURL, "traffic", "", "traffic manager admin URL (required)")
	fs.StringVar(&a.key, "key", "", "traffic manager admin key (default $TANDEM_TRAFFIC_KEY)")
	fs.DurationVar(&a.timeout, "timeout", time.Minute, "give up after this long")
	if err := parseNoArgs(fs, args); err != nil {
		return nil, err
	}
	if a.key == "" {
		a.key = os.Getenv("TANDEM_TRAFFIC_KEY")
	}
	if err := a.check(); err != nil {
		fmt.Fprintf(os.Stderr, "tandem failover: %v\n", err)
		fs.Usage()
		return nil, errUsage
	}
	return a, nil
}

func (a *failoverArgs) check() error {
	switch {
	case a.to == "":
		return errors.New("--to is required")
	case a.trafficURL == "":
		return errors.New("--traffic is required")
	case a.key == "":
		return errors.New("an admin key is required: --key or TANDEM_TRAFFIC_KEY")
	}
	if u, err := url.ParseRequestURI(a.trafficURL); err != nil || u.Host == "" {
		return fmt.Errorf("--traffic %q is not an http URL", a.trafficURL)
	}
	return nil
}

func (a *failoverArgs) run(ctx context.Context) error {
	body, _ := json.Marshal(map[string]any{"to": a.to, "planned": a.planned})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(a.trafficURL, "/")+"/failover", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-functions-key", a.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("failover to %s refused (%s): %s", a.to, resp.Status, e.Error)
		}
		return fmt.Errorf("failover to %s: %s: %s", a.to, resp.Status, bytes.TrimSpace(raw))
	}
	return printFailover(raw)
}

func printFailover(raw []byte) error {
	var r struct {
		Changed  bool   `json:"changed"`
		Primary  string `json:"primary"`
		Epoch    uint64 `json:"epoch"`
		Failover *struct {
			From, Kind string
		} `json:"failover"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("failover: decode reply: %w", err)
	}
	if !r.Changed {
		fmt.Fprintf(failoverStdout, "%s is already the primary (epoch %d)\n", r.Primary, r.Epoch)
		return nil
	}
	fmt.Fprintf(failoverStdout, "%s is now the primary at epoch %d (%s failover from %s)\n", r.Primary, r.Epoch, r.Failover.Kind, r.Failover.From)
	return nil
}
