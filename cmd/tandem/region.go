package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/metering"
	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/role"
)

func init() {
	register(&command{name: "region", summary: "run one region: gateway, handlers, queues, timers, tables, admin API", run: runRegion})
}

// appFlags collects repeated --app NAME=DIR or --app DIR.
type appFlags []region.AppSpec

func (a *appFlags) String() string { return fmt.Sprint(*a) }

func (a *appFlags) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok {
		name, dir = "", v
	}
	if dir == "" {
		return errors.New("empty app folder")
	}
	*a = append(*a, region.AppSpec{Name: name, Dir: dir})
	return nil
}

func runRegion(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tandem region", flag.ContinueOnError)
	var apps appFlags
	opts := region.Options{Prices: metering.DefaultPrices}
	fs.StringVar(&opts.Name, "name", "local", "region name (letters, digits, '-'); also its JetStream domain")
	fs.Var(&apps, "app", "app folder to serve, as DIR or NAME=DIR (repeatable)")
	fs.StringVar(&opts.HTTPAddr, "http", "127.0.0.1:7071", "address for the gateway and the admin API")
	fs.StringVar(&opts.DataDir, "data", "", "data directory (JetStream store, master key)")
	fs.StringVar(&opts.NATSURL, "nats", "", "external NATS cluster URL (default: embedded server)")
	fs.StringVar(&opts.NATSCreds, "nats-creds", "", "credentials file for --nats")
	fs.IntVar(&opts.Replicas, "replicas", 1, "copies of each stream and bucket on an external NATS cluster (3 on a 3-node cluster)")
	fs.StringVar(&opts.NATSListen, "nats-listen", "", "client address for the embedded NATS server (e.g. 127.0.0.1:4222)")
	fs.StringVar(&opts.LeafListen, "leaf-listen", "", "leafnode address other regions link to (e.g. 127.0.0.1:7422)")
	fs.BoolVar(&opts.SyncAlways, "sync-always", false, "fsync every JetStream write (survives power loss; about 12x slower writes)")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 5*time.Minute, "stop a handler instance idle this long (scale to zero)")
	fs.Int64Var(&opts.MaxBodyInFlight, "max-body-bytes-in-flight", gateway.DefaultMaxBodyInFlight, "request body bytes buffered for payload-mode invocations at once; past it requests get 503")
	fs.DurationVar(&opts.HTTP.ReadHeader, "http-read-header-timeout", region.DefaultHTTPTimeouts.ReadHeader, "time a client has to send a request's headers (negative: no limit)")
	fs.DurationVar(&opts.HTTP.Read, "http-read-timeout", region.DefaultHTTPTimeouts.Read, "time a client has to send a whole request, body included (negative: no limit)")
	fs.DurationVar(&opts.HTTP.Write, "http-write-timeout", region.DefaultHTTPTimeouts.Write, "time to answer a request, from the end of its headers (negative: no limit)")
	fs.DurationVar(&opts.HTTP.Idle, "http-idle-timeout", region.DefaultHTTPTimeouts.Idle, "time a keep-alive connection may stay idle (negative: no limit)")
	fs.IntVar(&opts.MaxInstances, "max-instances", 4, "handler instances per app at most")
	fs.StringVar(&opts.HandlerUser, "handler-user", "", "run handler processes as this OS user (the region runs as root; the data directory becomes unlistable to it)")
	fs.IntVar(&opts.ScaleOutAt, "scale-out-at", 16, "requests in flight per instance that start another (host.json extensions.http.maxConcurrentRequests wins)")
	fs.Float64Var(&opts.Prices.PerMillionExecutions, "price-executions", metering.DefaultPrices.PerMillionExecutions, "price per million executions, for /admin/usage")
	fs.Float64Var(&opts.Prices.PerGBSecond, "price-gb-second", metering.DefaultPrices.PerGBSecond, "price per GB-second, for /admin/usage")
	fs.Func("leaf-remote", "leafnode link (repeatable): another region's leafnode URL (two regions link directly), e.g. nats-leaf://127.0.0.1:7422, or with three or more regions every control node's leafnode URL, comma-separated, as one link to the hub", func(v string) error {
		opts.LeafRemotes = append(opts.LeafRemotes, v)
		return nil
	})
	fs.Func("peer", "another region of the deployment (repeatable); sync replication waits for peers", func(v string) error {
		opts.Peers = append(opts.Peers, v)
		return nil
	})
	fs.Func("sync-app", "an app replicated in sync mode: writes are acknowledged once a peer stored them (repeatable)", func(v string) error {
		opts.SyncApps = append(opts.SyncApps, v)
		return nil
	})
	fs.StringVar(&opts.PublicURL, "public-url", "", "the deployment's public address (a traffic manager's, e.g. http://tandem.example.com): storage connection strings name it so they work through a failover (default: the address a request came to; for handlers, this region's)")
	fs.StringVar(&opts.SyncStandbys, "sync-standbys", "quorum", "how many peers must have stored a sync-mode write before it is acknowledged: one, quorum (with the primary a majority of the regions: 1 of 1 or 2 peers, 2 of 3 or 4), all, or a number")
	fs.StringVar(&opts.Control, "control", "", "control cluster URLs (comma-separated): also follow the stored role state, stepping down when a newer epoch names another primary")
	fs.StringVar(&opts.ControlCreds, "control-creds", "", "credentials file for --control")
	fs.DurationVar(&opts.WriteHold, "write-hold", 5*time.Second, "how long a write reaching a region about to become primary waits for its promotion before it is refused (503, not run); keep it below the traffic manager's retry.responseTimeout so the refusal, not a timeout, reaches the proxy")
	accessLog := fs.Bool("access-log", true, "log one line per invocation at info (app, function, trigger, status, duration, invocation id)")
	standby := fs.Bool("standby", false, "start as a secondary and wait for the traffic manager to grant the primary role")
	var logf logFlags
	logf.register(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if opts.DataDir == "" {
		return errors.New("--data is required")
	}
	opts.NoAccessLog = !*accessLog
	if *standby {
		opts.Role = role.State{Role: role.Secondary}
	}
	opts.Apps = apps
	opts.MasterKeyEnv = os.Getenv("TANDEM_MASTER_KEY")
	logger, err := logf.logger()
	if err != nil {
		return err
	}
	opts.Logger = logger
	return serveRegion(ctx, opts)
}

func serveRegion(ctx context.Context, opts region.Options) error {
	r, err := region.New(opts)
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Shutdown(sctx)
}

// logFlags are every daemon's --log-level and --log-format.
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "text (key=value) or json (one object a line)")
}

func (l logFlags) logger() (*slog.Logger, error) { return newLogger(l.level, l.format) }

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsageMsg, level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: use text or json", errUsageMsg, format)
}
