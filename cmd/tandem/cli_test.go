package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/internal/testbin"
)

// TestCLIConventions runs the binary as a user would: help on stdout with
// exit 0, usage errors on stderr with exit 2, version from the build
// information, a completion script.
func TestCLIConventions(t *testing.T) {
	bin := testbin.Build(t, "cmd/tandem")
	cases := []struct {
		args         []string
		code         int
		stdout, errs string // substrings expected in each
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "Examples:", ""},
		{[]string{"help", "drill"}, 0, "traffic-kill", ""},
		{[]string{"region", "--help"}, 0, "-log-format", ""},
		{[]string{"version"}, 0, "tandem ", ""},
		{[]string{"--version"}, 0, "tandem ", ""},
		{[]string{"completion", "bash"}, 0, "complete -F _tandem tandem", ""},
		{[]string{"completion", "fish"}, 2, "", "bash|zsh"},
		{nil, 2, "", "Commands:"},
		{[]string{"nosuch"}, 2, "", `unknown command "nosuch"`},
		{[]string{"up", "extra-arg"}, 2, "", `unexpected argument "extra-arg"`},
		{[]string{"region", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"traffic", "--config", "x.yaml", "--log-format", "xml"}, 2, "", `--log-format "xml"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, c.args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.errs) {
			t.Errorf("tandem %v: exit %d (want %d)\nstdout: %.300s\nstderr: %.300s", c.args, code, c.code, out.String(), errb.String())
		}
	}
}
