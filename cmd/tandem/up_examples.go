package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tandemhq/tandem/examples"
	"github.com/tandemhq/tandem/examples/drillapp"
	"github.com/tandemhq/tandem/examples/hellogo"
)

func init() {
	// Hidden: the Go examples' handlers, served by the tandem binary itself
	// so that `tandem up` needs no compiler at run time.
	register(&command{name: exampleCommand, run: runExample})
}

const exampleCommand = "__example"

var exampleHandlers = map[string]func(){"hello-go": hellogo.Main, "drill": drillapp.Main}

func runExample(_ context.Context, args []string) error {
	if len(args) != 1 || exampleHandlers[args[0]] == nil {
		return fmt.Errorf("%w: tandem %s hello-go|drill", errUsageMsg, exampleCommand)
	}
	exampleHandlers[args[0]]()
	return nil
}

// writeExamples writes the embedded example apps under dir/apps and
// returns their folders: the Go ones run by this binary (host.json points
// at it with `__example NAME`), hello-python only when python3 exists.
func writeExamples(dir, self string) ([]string, error) {
	var out []string
	for _, name := range examples.Order {
		if !examples.Go[name] {
			if _, err := exec.LookPath("python3"); err != nil {
				fmt.Printf("Skipping the %s example: no python3 on PATH.\n", name)
				continue
			}
		}
		app := filepath.Join(dir, "apps", name)
		if err := copyExample(name, app); err != nil {
			return nil, fmt.Errorf("write example %s: %w", name, err)
		}
		if examples.Go[name] {
			if err := pointAtSelf(filepath.Join(app, "host.json"), self, name); err != nil {
				return nil, fmt.Errorf("write example %s: %w", name, err)
			}
		}
		out = append(out, app)
	}
	return out, nil
}

// copyExample writes one embedded app folder to dst (replacing an older
// copy, so an upgraded binary brings its own examples).
func copyExample(name, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	sub, err := fs.Sub(examples.Apps, name)
	if err != nil {
		return err
	}
	if err := os.CopyFS(dst, sub); err != nil {
		return err
	}
	return filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".py") {
			return err
		}
		return os.Chmod(p, 0o755)
	})
}

// pointAtSelf rewrites a Go example's host.json to run this binary's
// hidden handler command instead of a built executable.
func pointAtSelf(hostJSON, self, name string) error {
	b, err := os.ReadFile(hostJSON)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", hostJSON, err)
	}
	ch, _ := doc["customHandler"].(map[string]any)
	desc, _ := ch["description"].(map[string]any)
	if desc == nil {
		return fmt.Errorf("%s: no customHandler.description", hostJSON)
	}
	desc["defaultExecutablePath"] = self
	desc["arguments"] = []string{exampleCommand, name}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(hostJSON, out, 0o644)
}

// binaryName is how the user ran tandem, for the lines it prints: the
// name on PATH, or `go run ./cmd/tandem` for a go run build.
func binaryName() string {
	arg0 := os.Args[0]
	if strings.Contains(arg0, "go-build") {
		return "go run ./cmd/tandem"
	}
	if p, err := exec.LookPath(filepath.Base(arg0)); err == nil && sameFile(p, arg0) {
		return filepath.Base(arg0)
	}
	return arg0
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
