// Package testbin builds the helper programs that tests run as real
// processes (custom handlers, fault injectors), once per test binary.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// Build compiles the main package at pkg (a path relative to the module
// root, such as "testdata/handlers/echo") and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	out := filepath.Join(buildDir(t), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = ModuleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// ModuleRoot is the repository root (where go.mod is).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// BuildModule compiles the main package importPath of a module this one
// requires (such as "github.com/nats-io/nats-server/v2"), at the version
// go.mod pins, into a binary called name.
func BuildModule(t testing.TB, importPath, name string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[importPath]; ok {
		return p
	}
	out := filepath.Join(buildDir(t), name)
	cmd := exec.Command("go", "build", "-o", out, importPath)
	cmd.Dir = ModuleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", importPath, err, b)
	}
	built[importPath] = out
	return out
}

// buildDir is the directory binaries are built into; call with mu held.
func buildDir(t testing.TB) string {
	t.Helper()
	if dir == "" {
		d, err := os.MkdirTemp("", "tandem-testbin-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	return dir
}
