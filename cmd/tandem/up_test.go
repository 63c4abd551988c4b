package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/testbin"
)

// TestUpRefusesBusyPort: `tandem up` names a taken address and starts
// nothing, whether the address is the public one or a region's.
func TestUpRefusesBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	free := []string{"--dir", t.TempDir(), "--app", cliApp(t, 1), "--admin", "127.0.0.1:0", "--dns", "127.0.0.1:0",
		"--http2", "127.0.0.1:0", "--admin2", "127.0.0.1:0", "--dns2", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"public address", []string{"--http", busy.Addr().String(), "--region-port", "0"}, []string{busy.Addr().String(), "--http", "is busy"}},
		{"first region", []string{"--http", "127.0.0.1:0", "--region-port", port}, []string{"127.0.0.1:" + port, "region east", "is busy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := runUp(ctx, append(append([]string{}, free...), tc.args...))
			if err == nil {
				t.Fatal("tandem up started on a busy port")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestUpRegionsDieWithIt: a `tandem up` killed with SIGKILL (no chance to
// stop anything) takes its region processes with it, and they their
// handler processes.
func TestUpRegionsDieWithIt(t *testing.T) {
	up := exec.Command(testbin.Build(t, "cmd/tandem"), "up", "--dir", t.TempDir(), "--regions", "2", "--app", cliApp(t, 1),
		"--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--region-port", "0",
		"--http2", "127.0.0.1:0", "--admin2", "127.0.0.1:0", "--dns2", "127.0.0.1:0")
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		up.Stderr = os.Stderr
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Kill(); _ = up.Wait() })
	var ready atomic.Bool
	var public atomic.Pointer[string]
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "public" && f[1] == "URLs" {
				public.Store(&f[2])
			}
			if strings.Contains(sc.Text(), "Ctrl-C stops everything") {
				ready.Store(true)
			}
		}
	}()
	waitWithin(t, "tandem up to be up", 2*time.Minute, ready.Load)
	regions := childrenOf(t, up.Process.Pid)
	if len(regions) != 7 {
		t.Fatalf("tandem up has %d child processes, want its 2 regions, 3 control nodes and 2 traffic managers: %v", len(regions), regions)
	}
	waitWithin(t, "the app to answer (its handler started)", time.Minute, func() bool { return get(*public.Load()+"/api/hello") == http.StatusOK })
	var handlers []int
	for _, r := range regions {
		handlers = append(handlers, childrenOf(t, r)...)
	}
	if len(handlers) == 0 {
		t.Fatal("no handler process under the regions after a request")
	}
	procs := append(regions, handlers...)
	t.Cleanup(func() { // only matters when the test fails: no orphans left behind
		for _, pid := range procs {
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err := up.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = up.Wait()
	for _, pid := range procs {
		waitWithin(t, "process "+strconv.Itoa(pid)+" to die with tandem up", 10*time.Second, func() bool { return !alive(pid) })
	}
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// alive reports whether pid runs (a zombie waiting for its reaper does
// not).
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != "Z" && state != "X"
}

// procStat reads a process's state and parent from /proc/<pid>/stat.
func procStat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}

func waitWithin(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// TestUpFromEmptyFolderWithoutGo: issue 14 item 1. `tandem up` run from an
// empty folder, with a PATH that has no Go toolchain, serves the embedded
// examples (the Go handlers by the binary itself) and prints lines naming
// the binary and the apps it loaded.
func TestUpFromEmptyFolderWithoutGo(t *testing.T) {
	bin := testbin.Build(t, "cmd/tandem")
	dir := t.TempDir()
	up := exec.Command(bin, "up", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--dns", "127.0.0.1:0", "--region-port", "0",
		"--http2", "127.0.0.1:0", "--admin2", "127.0.0.1:0", "--dns2", "127.0.0.1:0")
	up.Dir = dir
	up.Env = append(os.Environ(), "PATH=/usr/bin:/bin")
	for _, p := range filepath.SplitList("/usr/bin:/bin") {
		if _, err := os.Stat(filepath.Join(p, "go")); err == nil {
			t.Fatalf("%s/go exists: this test needs a PATH without Go", p)
		}
	}
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Signal(syscall.SIGINT); _ = up.Wait() })
	var mu sync.Mutex
	var printed strings.Builder
	var ready atomic.Bool
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			printed.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "Ctrl-C stops everything") {
				ready.Store(true)
			}
		}
	}()
	waitWithin(t, "tandem up to be up", 2*time.Minute, ready.Load)
	mu.Lock()
	out := printed.String()
	mu.Unlock()
	wantApps := "hello-go, hello-python, drill"
	if _, err := exec.LookPath("python3"); err != nil {
		wantApps = "hello-go, drill"
	}
	for _, want := range []string{"apps            " + wantApps, bin + " drill --fault kill"} {
		if !strings.Contains(out, want) {
			t.Fatalf("tandem up printed no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "go run") {
		t.Fatalf("tandem up printed go run lines for a built binary:\n%s", out)
	}
	var public string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "public" && f[1] == "URLs" {
			public = f[2]
		}
	}
	resp, err := http.Get(public + "/api/hello/you")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello") {
		t.Fatalf("the embedded hello-go example: %d %s", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tandem", "apps", "hello-go", "host.json")); err != nil {
		t.Fatalf("the examples were not written under the state directory: %v", err)
	}
}
