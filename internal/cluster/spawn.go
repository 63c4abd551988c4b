package cluster

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
)

// spawner starts the cluster's child processes so that they die with it,
// even when it is killed with SIGKILL: each child is started with
// Pdeathsig SIGKILL. The kernel sends that signal when the *thread* that
// forked the child exits, not the process, and the Go runtime may retire
// threads, so every child is forked from one goroutine locked to its own
// OS thread for the cluster's life. When the cluster shuts down that
// goroutine returns still locked, the runtime ends its thread, and any
// child still alive is killed.
type spawner struct {
	reqs chan spawnReq
	quit chan struct{}
	done chan struct{}
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

var errSpawnerStopped = errors.New("cluster is shutting down")

func startSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq), quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *spawner) loop() {
	runtime.LockOSThread() // never unlocked: see spawner
	defer close(s.done)
	for {
		select {
		case r := <-s.reqs:
			r.err <- r.cmd.Start()
		case <-s.quit:
			return
		}
	}
}

// start starts cmd with Pdeathsig from the spawner's thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	select {
	case s.reqs <- r:
		return <-r.err
	case <-s.done:
		return errSpawnerStopped
	}
}

// stop ends the spawner's thread (killing children still alive). Safe to
// call more than once.
func (s *spawner) stop() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
}
