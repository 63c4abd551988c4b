package deploy

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/tandemhq/tandem/internal/testbin"
)

// dataVolume is where the image keeps a daemon's state.
const dataVolume = "/var/lib/tandem"

// image is the Dockerfile as BuildKit reads it: its stages and the
// defaults of the ARGs before the first FROM.
type image struct {
	stages []instructions.Stage
	args   map[string]string
}

func loadDockerfile(t *testing.T) image {
	t.Helper()
	f, err := os.Open(filepath.Join(testbin.ModuleRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	img := image{stages: stages, args: map[string]string{}}
	for _, a := range meta {
		for _, kv := range a.Args {
			if kv.Value != nil {
				img.args[kv.Key] = *kv.Value
			}
		}
	}
	return img
}

// buildStage is the stage that runs go build, and that command line.
func (img image) buildStage() (*instructions.Stage, string, error) {
	for i := range img.stages {
		for _, c := range img.stages[i].Commands {
			if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
				return &img.stages[i], strings.Join(r.CmdLine, " "), nil
			}
		}
	}
	return nil, "", errors.New("no stage runs go build")
}

// expandArgs replaces ${NAME} and $NAME of the ARGs before FROM.
func (img image) expandArgs(s string) string {
	for k, v := range img.args {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
		s = strings.ReplaceAll(s, "$"+k, v)
	}
	return s
}

func stageEnv(st *instructions.Stage) map[string]string {
	env := map[string]string{}
	for _, c := range st.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	return env
}

// commandsOf returns the stage's commands of type T.
func commandsOf[T instructions.Command](st *instructions.Stage) []T {
	var out []T
	for _, c := range st.Commands {
		if x, ok := c.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// TestDockerfile checks what the image promises without a Docker daemon:
// a multi-stage build whose build stage is Go's image at go.mod's
// version and builds a static binary, and a final stage that runs it as a
// numeric non-root user with the data directory as a volume.
func TestDockerfile(t *testing.T) {
	img := loadDockerfile(t)
	if len(img.stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s); want a build stage and a final stage", len(img.stages))
	}
	build, run, err := img.buildStage()
	if err != nil {
		t.Fatal(err)
	}
	final := &img.stages[len(img.stages)-1]
	checks := []finding{
		{"build stage base", checkGoImage(img.expandArgs(build.BaseName))},
		{"build stage CGO_ENABLED", want(stageEnv(build)["CGO_ENABLED"] == "0" || strings.Contains(run, "CGO_ENABLED=0"), "no CGO_ENABLED=0 for %q", run)},
		{"build stage -trimpath", want(strings.Contains(run, "-trimpath"), "go build without -trimpath: %q", run)},
		{"build stage ./cmd/tandem", want(strings.HasSuffix(run, "./cmd/tandem"), "go build does not build ./cmd/tandem: %q", run)},
		{"final stage base", want(!strings.HasPrefix(final.BaseName, "golang"), "the final stage is the Go image %s", final.BaseName)},
		{"final stage user", checkUser(commandsOf[*instructions.UserCommand](final))},
		{"final stage volume", checkVolume(commandsOf[*instructions.VolumeCommand](final))},
		{"final stage binary", checkCopiedBinary(final, build, run)},
		{"final stage data dir owner", checkDataOwner(final)},
		{"final stage ports", checkExpose(commandsOf[*instructions.ExposeCommand](final))},
	}
	for _, c := range checks {
		if c.err != nil {
			t.Errorf("Dockerfile: %s: %v", c.what, c.err)
		}
	}
}

// finding is one check's outcome: what was checked, and what is wrong
// (nil: nothing).
type finding struct {
	what string
	err  error
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

var goLine = regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`)

// checkGoImage: golang:X.Y... where X.Y is go.mod's go line.
func checkGoImage(base string) error {
	mod, err := os.ReadFile(filepath.Join(testbin.ModuleRoot(), "go.mod"))
	if err != nil {
		return err
	}
	m := goLine.FindStringSubmatch(string(mod))
	if m == nil {
		return errors.New("go.mod has no go line")
	}
	tag, ok := strings.CutPrefix(base, "golang:")
	if !ok {
		return fmt.Errorf("%q is not the golang image", base)
	}
	if v := m[1] + "." + m[2]; tag != v && !strings.HasPrefix(tag, v+".") && !strings.HasPrefix(tag, v+"-") {
		return fmt.Errorf("golang:%s, but go.mod says go %s", tag, v)
	}
	return nil
}

// checkUser: the last USER is numeric (Kubernetes' runAsNonRoot needs a
// number to check) and not root.
func checkUser(users []*instructions.UserCommand) error {
	if len(users) == 0 {
		return errors.New("no USER: the container would run as root")
	}
	uid, gid, _ := strings.Cut(users[len(users)-1].User, ":")
	for _, id := range []string{uid, gid} {
		if id == "" {
			continue
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			return fmt.Errorf("USER %s is not numeric", users[len(users)-1].User)
		}
		if n == 0 {
			return fmt.Errorf("USER %s is root", users[len(users)-1].User)
		}
	}
	return nil
}

func checkVolume(vols []*instructions.VolumeCommand) error {
	for _, v := range vols {
		if slices.Contains(v.Volumes, dataVolume) {
			return nil
		}
	}
	return fmt.Errorf("no VOLUME %s", dataVolume)
}

// checkCopiedBinary: the final stage copies what go build wrote, from the
// build stage, to the ENTRYPOINT's path, and its default command keeps
// state in the volume.
func checkCopiedBinary(final, build *instructions.Stage, run string) error {
	words, err := shellCommands(run)
	if err != nil || len(words) != 1 {
		return fmt.Errorf("cannot split %q: %v", run, err)
	}
	i := slices.Index(words[0], "-o")
	if i < 0 || i+1 >= len(words[0]) {
		return fmt.Errorf("go build has no -o: %q", run)
	}
	out := words[0][i+1]
	eps := commandsOf[*instructions.EntrypointCommand](final)
	if len(eps) == 0 || eps[0].PrependShell || len(eps[0].CmdLine) == 0 {
		return errors.New("no exec-form ENTRYPOINT")
	}
	entry := eps[0].CmdLine[0]
	copied := false
	for _, c := range commandsOf[*instructions.CopyCommand](final) {
		if (c.From == build.Name || c.From == "0") && slices.Contains(c.SourcePaths, out) && c.DestPath == entry {
			copied = true
		}
	}
	if !copied {
		return fmt.Errorf("no COPY --from=%s %s %s", build.Name, out, entry)
	}
	cmds := commandsOf[*instructions.CmdCommand](final)
	if len(cmds) == 0 || !slices.Contains(cmds[0].CmdLine, dataVolume) {
		return fmt.Errorf("the default command does not keep its data in %s", dataVolume)
	}
	return nil
}

// checkDataOwner: the data directory is copied in owned by USER, so a new
// named volume is writable by the daemon.
func checkDataOwner(final *instructions.Stage) error {
	users := commandsOf[*instructions.UserCommand](final)
	if len(users) == 0 {
		return errors.New("no USER")
	}
	for _, c := range commandsOf[*instructions.CopyCommand](final) {
		if c.DestPath == dataVolume || c.DestPath == dataVolume+"/" {
			return want(c.Chown == users[len(users)-1].User, "COPY to %s has --chown=%q, USER is %q", dataVolume, c.Chown, users[len(users)-1].User)
		}
	}
	return fmt.Errorf("nothing copied to %s with the user's ownership", dataVolume)
}

func checkExpose(exps []*instructions.ExposeCommand) error {
	for _, e := range exps {
		if slices.Contains(e.Ports, "7071") {
			return nil
		}
	}
	return errors.New("EXPOSE lacks 7071, a region's port")
}

// dockerBuilt is the binary built as the image's build stage builds it.
var dockerBuilt struct {
	once sync.Once
	path string
	err  error
}

// imageBinary builds tandem with the Dockerfile's build stage's own
// command line and environment (ARGs set to test-<name>), once per test
// binary. Every test here runs that binary, so they test what the image
// ships and the module's dependencies are compiled once for them.
func imageBinary(t *testing.T) string {
	t.Helper()
	dockerBuilt.once.Do(func() {
		dockerBuilt.path, dockerBuilt.err = buildAsImage(loadDockerfile(t))
	})
	if dockerBuilt.err != nil {
		t.Fatal(dockerBuilt.err)
	}
	return dockerBuilt.path
}

func buildAsImage(img image) (string, error) {
	build, line, err := img.buildStage()
	if err != nil {
		return "", err
	}
	for _, a := range commandsOf[*instructions.ArgCommand](build) {
		for _, kv := range a.Args {
			v := "test-" + strings.ToLower(kv.Key)
			line = strings.ReplaceAll(strings.ReplaceAll(line, "${"+kv.Key+"}", v), "$"+kv.Key, v)
		}
	}
	words, err := shellCommands(line)
	if err != nil || len(words) != 1 || words[0][0] != "go" {
		return "", fmt.Errorf("Dockerfile: cannot run %q as a go command: %v", line, err)
	}
	args := words[0][1:]
	i := slices.Index(args, "-o")
	if i < 0 || i+1 >= len(args) {
		return "", fmt.Errorf("Dockerfile: go build has no -o: %q", line)
	}
	dir, err := os.MkdirTemp("", "tandem-image-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "tandem")
	args[i+1] = out
	cmd := exec.Command("go", args...)
	cmd.Dir = testbin.ModuleRoot()
	cmd.Env = os.Environ()
	for k, v := range stageEnv(build) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("Dockerfile's build: go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out, nil
}

// TestDockerBuildIsStatic checks that the binary the image's build stage
// makes is static: no ELF interpreter and no dynamic section, so it runs
// on a base without libc. It then runs it: the revision given as a build
// argument is the one it reports, and the image's default command parses.
func TestDockerBuildIsStatic(t *testing.T) {
	bin := imageBinary(t)
	if err := staticELF(bin); err != nil {
		t.Errorf("the image's binary: %v", err)
	}
	if o, _, code := run(t, bin, "version"); code != 0 || !strings.Contains(o, "revision test-revision") {
		t.Errorf("tandem version: exit %d, %q; want the build argument REVISION as its revision", code, o)
	}
	img := loadDockerfile(t)
	cmds := commandsOf[*instructions.CmdCommand](&img.stages[len(img.stages)-1])
	if len(cmds) == 0 {
		t.Fatal("Dockerfile: the final stage has no CMD")
	}
	if _, errs, code := run(t, bin, append(slices.Clone(cmds[0].CmdLine), "--help")...); code != 0 {
		t.Errorf("the image's default command %q: exit %d: %s", cmds[0].CmdLine, code, errs)
	}
}

// staticELF says why the ELF file at path is not statically linked.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			return errors.New("it has an ELF interpreter (dynamically linked)")
		case elf.PT_DYNAMIC:
			return errors.New("it has a dynamic section")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("it needs %v", libs)
	}
	return nil
}

// TestStaticELFCheck shows the check refuses a dynamically linked
// binary (TestDockerBuildIsStatic shows it accepts a static one).
func TestStaticELFCheck(t *testing.T) {
	cases := []string{"sh", "ls"} // dynamically linked on Debian
	for _, name := range cases {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if staticELF(path) == nil {
			t.Errorf("%s: staticELF calls it static", path)
		}
	}
}
