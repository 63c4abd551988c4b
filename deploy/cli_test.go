package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// tandemBin is the tandem binary as the image ships it (imageBinary).
func tandemBin(t *testing.T) string {
	t.Helper()
	return imageBinary(t)
}

// cli is what the binary says about itself: its commands and, per
// command, its flags, read from its --help output.
type cli struct {
	bin      string
	mu       sync.Mutex
	commands map[string]bool
	flags    map[string]map[string]bool
}

var (
	cliOnce sync.Once
	theCLI  *cli
)

func binCLI(t *testing.T) *cli {
	t.Helper()
	bin := tandemBin(t)
	cliOnce.Do(func() { theCLI = &cli{bin: bin, flags: map[string]map[string]bool{}} })
	return theCLI
}

var (
	commandLine = regexp.MustCompile(`^  ([a-z][a-z0-9-]*) `)
	flagLine    = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)`)
)

// hasCommand reports whether 'tandem --help' lists name.
func (c *cli) hasCommand(t *testing.T, name string) bool {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commands == nil {
		out := c.mustHelp(t, "--help")
		c.commands = map[string]bool{}
		inList := false
		for _, l := range lines(out) {
			switch {
			case l == "Commands:":
				inList = true
			case inList && l == "":
				inList = false
			case inList:
				if m := commandLine.FindStringSubmatch(l); m != nil {
					c.commands[m[1]] = true
				}
			}
		}
		if len(c.commands) < 5 {
			t.Fatalf("tandem --help lists %d commands; the parse of its output is wrong:\n%s", len(c.commands), out)
		}
	}
	return c.commands[name]
}

// hasFlag reports whether 'tandem CMD --help' lists flag (without dashes).
func (c *cli) hasFlag(t *testing.T, cmd, flag string) bool {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	fl, ok := c.flags[cmd]
	if !ok {
		fl = map[string]bool{}
		for _, l := range lines(c.mustHelp(t, cmd, "--help")) {
			if m := flagLine.FindStringSubmatch(l); m != nil {
				fl[m[1]] = true
			}
		}
		c.flags[cmd] = fl
	}
	return fl[flag]
}

func (c *cli) mustHelp(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, c.bin, args...)
	if code != 0 {
		t.Fatalf("tandem %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// check says what is wrong with the command line tandem args (args[0] the
// command): an unknown command or flag by name, then what the binary's
// own flag parser says when the same arguments are given with --help
// appended (it parses every flag and its value, then stops at --help
// with exit 0 instead of running the command).
func (c *cli) check(t *testing.T, args []string) error {
	t.Helper()
	if len(args) == 0 {
		return errors.New("no command")
	}
	if !c.hasCommand(t, args[0]) {
		return fmt.Errorf("tandem has no command %q", args[0])
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !c.hasFlag(t, args[0], name) {
			return fmt.Errorf("tandem %s has no flag -%s", args[0], name)
		}
	}
	_, errs, code := run(t, c.bin, append(append([]string{}, args...), "--help")...)
	if code != 0 {
		return fmt.Errorf("the binary refuses it (exit %d): %s", code, strings.TrimSpace(errs))
	}
	return nil
}

// run runs bin with args and returns stdout, stderr and the exit code;
// a command that has not ended within a minute is killed and fails the
// test (a --help that did not stop the command would run it).
func run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after a minute", bin, strings.Join(args, " "))
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", bin, err)
	}
	return out.String(), errb.String(), 0
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
