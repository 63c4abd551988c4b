package region

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tandemhq/tandem/internal/testbin"
)

// TestPythonExample runs the hello-python example unmodified: a handler
// named as a command on PATH ("python3"), payload mode with a $return
// http output, and a queue output with an array (one message each).
func TestPythonExample(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	dir := filepath.Join(t.TempDir(), "hello-python")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(testbin.ModuleRoot(), "examples", "hello-python"))); err != nil {
		t.Fatal(err)
	}
	tr := startRegion(t, func(o *Options) { o.Apps = []AppSpec{{Dir: dir}} })
	r := tr.do("GET", "/api/greet/ada", "", "")
	if r.code != 200 || canon(t, r.json(t)) != `{"message":"Hello from Python, ada!","method":"GET","region":"east"}` {
		t.Fatalf("greet: %d %s", r.code, r.body)
	}
	if r := tr.do("GET", "/api/greet/ad4", "", ""); r.code != 404 {
		t.Fatalf("alpha constraint: %d", r.code)
	}
	key := tr.keyValue("/admin/host/functionkeys", "default")
	if r := tr.do("POST", "/api/enqueue", key, "one\ntwo\nthree\n"); r.code != 202 {
		t.Fatalf("enqueue: %d %s", r.code, r.body)
	}
	if n := queueLen(t, tr, "hello-python", "py-work"); n != 3 {
		t.Fatalf("py-work holds %d messages, want 3", n)
	}
}
