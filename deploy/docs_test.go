package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/internal/testbin"
)

// TestOperationsGuideCommands takes every tandem command line from the
// code blocks of docs/operations.md (run directly, or as the command of a
// docker run of the image) and checks it against the binary: the command
// exists, each flag is one of its flags, and its flag parser accepts the
// whole line. The guide cannot name a command or flag the binary lacks.
func TestOperationsGuideCommands(t *testing.T) {
	c := binCLI(t)
	doc, err := os.ReadFile(filepath.Join(testbin.ModuleRoot(), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := tandemCommands(codeBlocks(string(doc)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, args := range cmds {
		seen[args[0]] = true
		if err := c.check(t, args); err != nil {
			t.Errorf("docs/operations.md: tandem %s: %v", strings.Join(args, " "), err)
		}
	}
	// The guide's procedures need these; fewer means the extraction broke.
	for _, want := range []string{"version", "region", "status", "failover", "sync", "deploy"} {
		if !seen[want] {
			t.Errorf("docs/operations.md: no code block runs tandem %s (found %d tandem commands: %v)", want, len(cmds), seen)
		}
	}
}

var fence = regexp.MustCompile("(?ms)^[ \t]*```[a-z]*\n(.*?)^[ \t]*```")

// codeBlocks returns the contents of the fenced code blocks of a
// Markdown document, indented ones (in list items) included.
func codeBlocks(doc string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// tandemCommands returns the arguments of every tandem invocation in
// shell scripts: a simple command whose program is tandem (or
// /usr/local/bin/tandem), or a docker run of an image named tandem.
func tandemCommands(scripts []string) ([][]string, error) {
	var out [][]string
	for _, s := range scripts {
		cmds, err := shellCommands(s)
		if err != nil {
			return nil, err
		}
		for _, words := range cmds {
			if args, ok := tandemArgs(words); ok && len(args) > 0 {
				out = append(out, args)
			}
		}
	}
	return out, nil
}

// tandemImage is the image as the guide names it, with its tag (a bare
// "tandem" could be the value of a flag such as --name).
var tandemImage = regexp.MustCompile(`^tandem:[A-Za-z0-9._-]+$`)

func tandemArgs(words []string) ([]string, bool) {
	if len(words) > 0 && words[0] == "sudo" {
		words = words[1:]
	}
	switch {
	case len(words) == 0:
		return nil, false
	case words[0] == "tandem" || words[0] == "/usr/local/bin/tandem":
		return words[1:], true
	case len(words) > 2 && words[0] == "docker" && words[1] == "run":
		for i, w := range words[2:] {
			if tandemImage.MatchString(w) {
				return words[i+3:], true
			}
		}
	}
	return nil, false
}

func TestTandemCommandsExtraction(t *testing.T) {
	cases := []struct {
		name   string
		script string
		want   [][]string
	}{
		{"plain", "tandem status --topology /etc/t.yaml\n", [][]string{{"status", "--topology", "/etc/t.yaml"}}},
		{"continued and commented", "tandem region --name east \\\n    --data /d   # a comment\n", [][]string{{"region", "--name", "east", "--data", "/d"}}},
		{"expansions", `tandem failover --to west --key "$(cat .tandem/traffic.key)" --traffic $URL`, [][]string{{"failover", "--to", "west", "--key", "X", "--traffic", "X"}}},
		{"chained", "install -m 0755 tandem /usr/local/bin/tandem && tandem version", [][]string{{"version"}}},
		{"docker run", "docker run -d -v v:/var/lib/tandem -p 7071:7071 \\\n  tandem:latest region --name east", [][]string{{"region", "--name", "east"}}},
		{"docker run, flags first", "docker run --rm tandem:latest version", [][]string{{"version"}}},
		{"docker build is not a run", "docker build -t tandem:latest .", nil},
		{"other programs", "systemctl restart tandem-region@west\ncurl -H 'x: y' http://h/tandem", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tandemCommands([]string{c.script})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestCheckRefusesWrongCommands shows that the check the guide and the
// units go through fails on what would rot: an unknown command, a flag
// renamed away, a value the flag cannot take.
func TestCheckRefusesWrongCommands(t *testing.T) {
	c := binCLI(t)
	cases := []struct {
		args []string
		ok   bool
	}{
		{[]string{"region", "--name", "east", "--data", "/d", "--standby"}, true},
		{[]string{"failover", "--to", "west", "--planned", "--traffic", "http://h:7070"}, true},
		{[]string{"sync", "plan", "--topology", "t.yaml"}, true},
		{[]string{"rejoin", "--name", "east"}, false},
		{[]string{"region", "--rejoin"}, false},
		{[]string{"region", "--write-hold", "five"}, false},
		{[]string{"traffic", "--config=/t.yaml", "--no-such-flag"}, false},
	}
	for _, tc := range cases {
		err := c.check(t, tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("tandem %s: check says %v, want ok=%v", strings.Join(tc.args, " "), err, tc.ok)
		}
	}
}
