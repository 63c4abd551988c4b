// Command tandem runs the Tandem platform: regions, the traffic manager and
// the operator verbs, all from one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one verb of the tandem binary. Each lives in its own file and
// registers itself from init, so verbs can be added without touching main.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	switch {
	case len(args) == 0:
		usage(os.Stderr)
		return 2
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help":
		return help(args[1:])
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "tandem: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	err := c.run(ctx, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errUsageMsg):
		fmt.Fprintf(os.Stderr, "tandem %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(os.Stderr, "tandem %s: %v\n", c.name, err)
		return 1
	}
}

// errUsage reports that flag parsing already printed what was wrong.
var errUsage = errors.New("usage")

// errUsageMsg is a usage error whose message says what is wrong (exit 2).
var errUsageMsg = errors.New("usage")

// parseFlags parses args with fs: help goes to stdout (ErrHelp, exit 0),
// a bad flag is said on stderr with the usage (errUsage, exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return err
	case err != nil:
		fs.SetOutput(os.Stderr)
		fmt.Fprintf(os.Stderr, "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return errUsage
	}
	fs.SetOutput(os.Stderr)
	return nil
}

// parseNoArgs is parseFlags for a command that takes no arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected argument %q (it takes flags only)\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// help prints the command list, or a command's help, on stdout.
func help(args []string) int {
	if len(args) > 0 {
		if c, ok := commands[args[0]]; ok {
			return run(context.Background(), []string{c.name, "--help"})
		}
	}
	usage(os.Stdout)
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tandem <command> [flags]\n\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Examples:
  tandem up                                  everything on this machine: regions, control nodes, traffic managers
  tandem drill --fault kill                  kill -9 the primary under load and report
  tandem status --topology .tandem/topology.yaml
  tandem new myapp --lang python             a runnable custom-handler app; then tandem up --app myapp

Run 'tandem <command> --help' for a command's flags; 'tandem version' for the build.
`)
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		if !strings.HasPrefix(n, "__") { // hidden
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
