package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// proc is one child process of the harness (a control node or a traffic
// manager) with its log file. It dies with the harness: Pdeathsig kills
// it when the process that started it dies, even by SIGKILL.
type proc struct {
	what    string // "traffic manager tm1", for errors
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	logOut  io.WriteCloser
}

// start starts the process through spawn (the cluster's spawner, which
// forks from a locked thread so that Pdeathsig holds).
func (p *proc) start(spawn *spawner, binary string, args []string, env []string) error {
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.what, err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := spawn.start(cmd); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", p.what, err)
	}
	p.cmd, p.exited, p.logOut = cmd, make(chan struct{}), out
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(p.exited) // joined by kill and stop
	return nil
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// PID is the process id (0 when not running).
func (p *proc) PID() int {
	if !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) kill() error {
	if !p.running() {
		return fmt.Errorf("kill %s: not running", p.what)
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a hung process dies too
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.what, err)
	}
	<-p.exited
	return p.logOut.Close()
}

func (p *proc) signal(sig syscall.Signal) error {
	if !p.running() {
		return fmt.Errorf("signal %s: not running", p.what)
	}
	return p.cmd.Process.Signal(sig)
}

// stop ends the process gracefully (SIGTERM, then SIGKILL when ctx ends).
func (p *proc) stop(ctx context.Context) error {
	if !p.running() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	return p.logOut.Close()
}

// LogPath is where the process writes its output.
func (p *proc) LogPath() string { return p.logPath }

func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-8, 0):], "\n")
}
