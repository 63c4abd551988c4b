package host

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// instance is one running handler process.
type instance struct {
	id   string
	gen  uint64
	port int
	base string // http://127.0.0.1:<port>
	addr string // 127.0.0.1:<port>
	// client holds the connections to the handler (set with addr, before
	// the instance can be picked).
	client *handlerClient
	cmd    *exec.Cmd
	start  time.Time
	log    *slog.Logger

	tailMu sync.Mutex
	tail   []string // the last lines the handler printed, for start errors

	outDone  chan struct{} // closed when the output streams have ended
	outputs  []io.Closer   // the read ends, closed if a leftover child holds them open
	launched chan struct{} // closed once cmd has started
	exited   chan struct{} // closed when the process has exited (or never started)
	exitErr  error
	ready    chan struct{} // closed when the handler answers HTTP
	startErr error         // set before ready is closed if it never got ready

	// guarded by Pool.mu
	inflight     int
	lastUsed     time.Time // the last request's end, or when it got ready
	readyAt      time.Time // zero until ready
	queuedAt     time.Time // when the pool decided to start it
	delayedUntil time.Time // a crash-backoff delay before its start
	crashes      int       // the pool's consecutive crashes when it was started
	retiring     bool
}

func newInstance(id string, gen uint64, log *slog.Logger) *instance {
	return &instance{id: id, gen: gen, log: log.With("instance", id), launched: make(chan struct{}), exited: make(chan struct{}), ready: make(chan struct{}), outDone: make(chan struct{})}
}

// launch starts the handler process; it is not ready until waitReady.
func (i *instance) launch(spec processSpec, wg *sync.WaitGroup) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("pick handler port: %w", err)
	}
	vars := workerVars(port, i.id, spec.root)
	env := processEnv(spec.env(), vars)
	path, args := commandLine(spec, envMap(env), vars)
	cmd := exec.Command(path, args...)
	cmd.Dir = spec.dir
	cmd.Env = env
	// Own process group (so stop signals reach the handler's children), and
	// SIGKILL if the region dies (kill -9 must not leave orphan handlers).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: spec.cred}
	stdout, stderr, closeWriters, err := pipes(cmd)
	if err != nil {
		return err
	}
	i.port, i.addr, i.cmd = port, "127.0.0.1:"+strconv.Itoa(port), cmd
	i.base = "http://" + i.addr
	i.client = newHandlerClient(i.addr)
	err = cmd.Start()
	closeWriters()
	if err != nil {
		stdout.Close()
		stderr.Close()
		return fmt.Errorf("start handler %s: %w", path, err)
	}
	i.start = time.Now()
	close(i.launched)
	i.log.Info("handler started", "pid", cmd.Process.Pid, "port", port)
	i.outputs = []io.Closer{stdout, stderr}
	i.capture(wg, stdout, stderr)
	wg.Add(1)
	go i.wait(wg)
	return nil
}

// pipes gives the handler its own stdout and stderr pipes (plain files, so
// cmd.Wait neither waits for nor cuts off the readers: the last lines a
// dying handler printed are still read; see capture). The returned closer
// closes the write ends in the region once the handler has started.
func pipes(cmd *exec.Cmd) (io.ReadCloser, io.ReadCloser, func(), error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("handler stdout: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, nil, fmt.Errorf("handler stderr: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	return outR, errR, func() { outW.Close(); errW.Close() }, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// capture copies the handler's output lines into the region log until
// every writer (the handler and any child it left behind) has closed them;
// outDone is closed when both streams have ended.
func (i *instance) capture(wg *sync.WaitGroup, stdout, stderr io.ReadCloser) {
	var streams sync.WaitGroup
	for name, r := range map[string]io.ReadCloser{"stdout": stdout, "stderr": stderr} {
		wg.Add(1)
		streams.Add(1)
		go func() {
			defer wg.Done()
			defer streams.Done()
			defer r.Close()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				i.log.Info(sc.Text(), "stream", name)
				i.remember(sc.Text())
			}
		}()
	}
	go func() {
		streams.Wait()
		close(i.outDone)
	}()
}

// outputDone waits briefly for the output of an exited handler to be read
// (not for long: a child it left behind may hold the pipes open).
func (i *instance) outputDone() {
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case <-i.outDone:
	case <-t.C:
	}
}

// remember keeps the last few output lines.
func (i *instance) remember(line string) {
	i.tailMu.Lock()
	defer i.tailMu.Unlock()
	i.tail = append(i.tail, line)
	if len(i.tail) > 5 {
		i.tail = i.tail[len(i.tail)-5:]
	}
}

// lastOutput is the handler's last output lines, for an error message.
func (i *instance) lastOutput() string {
	i.tailMu.Lock()
	defer i.tailMu.Unlock()
	if len(i.tail) == 0 {
		return "it printed nothing"
	}
	return "its last output: " + strings.Join(i.tail, " | ")
}

func (i *instance) wait(wg *sync.WaitGroup) {
	defer wg.Done()
	i.exitErr = i.cmd.Wait()
	close(i.exited)
	t := time.NewTimer(time.Second)
	select {
	case <-i.outDone:
	case <-t.C: // a child of the handler outlived it and holds the pipes: stop reading
		for _, c := range i.outputs {
			_ = c.Close()
		}
	}
	t.Stop()
	i.log.Info("handler exited", "status", exitStatus(i.exitErr), "uptime", time.Since(i.start).Round(time.Millisecond))
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// waitReady polls GET / until any HTTP response, as the Azure host does,
// but on a fast exponential schedule (from 200µs up to 5ms) instead of
// fixed 25ms steps, so a handler that starts in 3ms is used in about 3ms.
func (i *instance) waitReady(ctx context.Context, client *http.Client, timeout time.Duration) {
	defer close(i.ready)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	delay := 200 * time.Microsecond
	for {
		if i.probe(ctx, client) {
			i.log.Debug("handler ready", "after", time.Since(i.start))
			return
		}
		step := time.NewTimer(delay)
		select {
		case <-step.C:
		case <-i.exited:
			step.Stop()
			i.outputDone()
			i.startErr = fmt.Errorf("handler exited before it listened on port %d (%s; %s)", i.port, exitStatus(i.exitErr), i.lastOutput())
			return
		case <-deadline.C:
			step.Stop()
			i.startErr = fmt.Errorf("handler did not answer on port %d within %s", i.port, timeout)
			return
		case <-ctx.Done():
			step.Stop()
			i.startErr = fmt.Errorf("handler start: %w", ctx.Err())
			return
		}
		delay = min(delay*2, 5*time.Millisecond)
	}
}

func (i *instance) probe(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, i.base+"/", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return true
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (i *instance) stop(grace time.Duration) {
	select {
	case <-i.exited:
		return
	case <-i.launched:
	}
	pgid := -i.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-i.exited:
	case <-t.C:
		i.log.Warn("handler ignored SIGTERM; killing", "grace", grace)
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-i.exited
	}
}

func (i *instance) hasExited() bool {
	select {
	case <-i.exited:
		return true
	default:
		return false
	}
}

// rssBytes is the process's resident memory from /proc (0 when unknown).
func (i *instance) rssBytes() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(i.cmd.Process.Pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
