package deploy

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/testbin"
)

// unitDir is where the units live in the repository.
var unitDir = filepath.Join(testbin.ModuleRoot(), "deploy", "systemd")

// installedBinary is where the units and docs/operations.md install tandem.
const installedBinary = "/usr/local/bin/tandem"

// maxExposure is the highest 'systemd-analyze security' exposure a unit
// may have (0 is fully sandboxed, 10 not at all; 2 is "OK").
const maxExposure = 2.0

// units are the shipped units: the instance used to test a template, the
// example environment file, the command ExecStart runs, and the function
// of cmd/tandem that stops that daemon (its shutdown budget is read from
// the source, so a longer drain there fails a unit whose TimeoutStopSec
// it would outlast).
var units = []struct {
	file, instance, env, command, stopFunc string
}{
	{"tandem-region@.service", "east", "region.env.example", "region", "serveRegion"},
	{"tandem-traffic.service", "", "traffic.env.example", "traffic", "serveTraffic"},
	{"tandem-control@.service", "c1", "control.env.example", "control", "runControl"},
}

// unitFile is a parsed unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func parseUnit(text string) (unitFile, error) {
	u := unitFile{}
	section := ""
	for n, line := range lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		case strings.HasSuffix(line, "\\"):
			return nil, fmt.Errorf("line %d: continuation lines are not supported here", n+1)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("line %d: %q is not key=value in a section", n+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u, nil
}

func readUnit(t *testing.T, name string) (string, unitFile) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(unitDir, name))
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(string(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(b), u
}

// readEnv reads an EnvironmentFile: KEY=VALUE lines, # comments, values
// optionally quoted.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not KEY=VALUE", path, line)
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		}
		env[k] = v
	}
	return env, sc.Err()
}

var (
	wholeVar = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
	braced   = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// execArgs expands an ExecStart line as systemd does for what the units
// use: %i is the instance, ${VAR} one word, a word that is only $VAR
// split at white space. A variable the environment file lacks is an
// error: the example must show every variable the unit reads.
func execArgs(line, instance string, env map[string]string) ([]string, error) {
	if strings.ContainsAny(line, `"'`) {
		return nil, fmt.Errorf("ExecStart has quotes, which this test does not expand: %s", line)
	}
	var out []string
	var missing []string
	lookup := func(name string) string {
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	}
	for _, w := range strings.Fields(strings.ReplaceAll(line, "%i", instance)) {
		if m := wholeVar.FindStringSubmatch(w); m != nil {
			out = append(out, strings.Fields(lookup(m[1]))...)
			continue
		}
		out = append(out, braced.ReplaceAllStringFunc(w, func(s string) string { return lookup(s[2 : len(s)-1]) }))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the environment file does not set %v", missing)
	}
	return out, nil
}

// TestSystemdUnits checks each unit's promises and that the binary takes
// its command line: restart on failure but not after a usage error, the
// dedicated user, state in StateDirectory which is the --data given, the
// sandbox, a stop timeout above the daemon's own shutdown budget, and an
// ExecStart (expanded with the example environment file) that the
// binary's flag parser accepts.
func TestSystemdUnits(t *testing.T) {
	c := binCLI(t)
	sysusers, err := os.ReadFile(filepath.Join(unitDir, "tandem.sysusers"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range units {
		t.Run(tc.file, func(t *testing.T) {
			_, u := readUnit(t, tc.file)
			svc := "Service"
			if user := u.get(svc, "User"); user == "" || user == "root" || !regexp.MustCompile(`(?m)^u `+regexp.QuoteMeta(user)+` `).Match(sysusers) {
				t.Errorf("User=%q: want a dedicated user that tandem.sysusers creates", user)
			}
			for k, want := range map[string]string{
				"Restart": "on-failure", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
				"ProtectHome": "yes", "PrivateTmp": "yes", "KillMode": "mixed", "KillSignal": "SIGTERM",
			} {
				if got := u.get(svc, k); got != want {
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}
			if !slices.Contains(strings.Fields(u.get(svc, "RestartPreventExitStatus")), "2") {
				t.Errorf("RestartPreventExitStatus=%q: a usage error (exit 2) would restart forever", u.get(svc, "RestartPreventExitStatus"))
			}
			envFile := u.get(svc, "EnvironmentFile")
			if !strings.HasPrefix(envFile, "/etc/tandem/") {
				t.Errorf("EnvironmentFile=%q, want one under /etc/tandem", envFile)
			}
			env, err := readEnv(filepath.Join(unitDir, tc.env))
			if err != nil {
				t.Fatal(err)
			}
			args, err := execArgs(u.get(svc, "ExecStart"), tc.instance, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(args) < 2 || args[0] != installedBinary || args[1] != tc.command {
				t.Fatalf("ExecStart runs %q, want %s %s", args, installedBinary, tc.command)
			}
			if err := c.check(t, args[1:]); err != nil {
				t.Errorf("ExecStart %q: %v", args, err)
			}
			state := strings.ReplaceAll(u.get(svc, "StateDirectory"), "%i", tc.instance)
			data := flagValue(args, "--data")
			if state == "" || data != "/var/lib/"+state {
				t.Errorf("--data %q is not the StateDirectory=%s (/var/lib/%s)", data, state, state)
			}
			if rw := strings.Fields(strings.ReplaceAll(u.get(svc, "ReadWritePaths"), "%i", tc.instance)); !slices.Contains(rw, data) {
				t.Errorf("ReadWritePaths=%v lacks the data directory %s", rw, data)
			}
			budget := shutdownBudget(t, tc.stopFunc)
			stop, err := time.ParseDuration(u.get(svc, "TimeoutStopSec"))
			if err != nil || stop < budget+10*time.Second {
				t.Errorf("TimeoutStopSec=%s (%v), want at least %s: %s drains for up to %s", u.get(svc, "TimeoutStopSec"), err, budget+10*time.Second, tc.stopFunc, budget)
			}
		})
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// shutdownBudget reads, in cmd/tandem, the N*time.Second given to
// context.WithTimeout in function fn (0 when it has none).
func shutdownBudget(t *testing.T, fn string) time.Duration {
	t.Helper()
	fset := token.NewFileSet()
	dir := filepath.Join(testbin.ModuleRoot(), "cmd", "tandem")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	found, budget := false, time.Duration(0)
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != fn {
				continue
			}
			found = true
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if d, ok := timeoutArg(n); ok && d > budget {
					budget = d
				}
				return true
			})
		}
	}
	if !found {
		t.Fatalf("cmd/tandem has no function %s (the unit test names the function that stops the daemon)", fn)
	}
	return budget
}

// timeoutArg matches context.WithTimeout(_, N*time.Second).
func timeoutArg(n ast.Node) (time.Duration, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return 0, false
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "WithTimeout" {
		return 0, false
	}
	bin, ok := call.Args[1].(*ast.BinaryExpr)
	if !ok || bin.Op != token.MUL {
		return 0, false
	}
	lit, ok := bin.X.(*ast.BasicLit)
	unit, ok2 := bin.Y.(*ast.SelectorExpr)
	if !ok || !ok2 || lit.Kind != token.INT {
		return 0, false
	}
	n64, err := strconv.ParseInt(lit.Value, 10, 64)
	if err != nil {
		return 0, false
	}
	units := map[string]time.Duration{"Second": time.Second, "Millisecond": time.Millisecond, "Minute": time.Minute}
	d, ok := units[unit.Sel.Name]
	return time.Duration(n64) * d, ok
}

// installedName is the file name of the unit as installed for a test:
// a template gets its instance.
func installedName(file, instance string) string {
	return strings.Replace(file, "@.", "@"+instance+".", 1)
}

// verifyUnit runs systemd-analyze verify on text installed as name in a
// fresh directory, the binary path pointing at bin (verify checks that
// ExecStart's program exists). Anything it prints is a finding: it exits
// 0 on unknown keys and bad values, which it only warns about.
func verifyUnit(t *testing.T, sa, name, text, bin string) error {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, installedBinary, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "verify", path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		return fmt.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	return nil
}

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

func exposure(t *testing.T, sa, name, text, bin string) (float64, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, installedBinary, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sa, "security", "--offline=true", "--no-pager", path)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	m := exposureLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd; scripts/test installs it)")
	}
	return sa
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify and security on
// each unit as shipped, and shows that verify catches what a mistyped
// unit would carry (systemd itself only logs those and starts the unit
// without the setting).
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	bin := tandemBin(t)
	for _, tc := range units {
		text, _ := readUnit(t, tc.file)
		name := installedName(tc.file, tc.instance)
		if err := verifyUnit(t, sa, name, text, bin); err != nil {
			t.Errorf("%s: %v", tc.file, err)
		}
		if e, err := exposure(t, sa, name, text, bin); err != nil || e > maxExposure {
			t.Errorf("%s: systemd-analyze security exposure %.1f (%v), want at most %.1f", tc.file, e, err, maxExposure)
		}
	}
	text, _ := readUnit(t, units[0].file)
	broken := []struct{ what, from, to string }{
		{"a misspelt key", "\nRestart=on-failure", "\nRestar=on-failure"},
		{"a bad value", "\nRestart=on-failure", "\nRestart=on-failur"},
		{"a bad time span", "TimeoutStopSec=45s", "TimeoutStopSec=45 fortnights"},
		{"a program that is not there", "ExecStart=" + installedBinary, "ExecStart=/nonexistent/tandem"},
		{"an unknown section", "[Install]", "[Instal]"},
	}
	for _, b := range broken {
		if !strings.Contains(text, b.from) {
			t.Fatalf("%s has no %q to break", units[0].file, b.from)
		}
		if err := verifyUnit(t, sa, installedName(units[0].file, "east"), strings.Replace(text, b.from, b.to, 1), bin); err == nil {
			t.Errorf("systemd-analyze verify passes a unit with %s (%q)", b.what, b.to)
		}
	}
}

func TestExecArgs(t *testing.T) {
	env := map[string]string{"ADDR": "0.0.0.0:7071", "FLAGS": "--peer west  --standby"}
	cases := []struct {
		line, instance string
		want           []string
		err            bool
	}{
		{"/b region --name %i --http ${ADDR} $FLAGS", "east", []string{"/b", "region", "--name", "east", "--http", "0.0.0.0:7071", "--peer", "west", "--standby"}, false},
		{"/b region --data /var/lib/tandem/region-%i", "west", []string{"/b", "region", "--data", "/var/lib/tandem/region-west"}, false},
		{"/b region $MISSING", "east", nil, true},
		{"/b region --http ${MISSING}", "east", nil, true},
		{`/b region --name "a b"`, "east", nil, true},
	}
	for _, c := range cases {
		got, err := execArgs(c.line, c.instance, env)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("execArgs(%q) = %q, %v; want %q, error %v", c.line, got, err, c.want, c.err)
		}
	}
}
