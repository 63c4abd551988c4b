package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/internal/faultnet"
)

// Region is one region process and the link in front of it.
type Region struct {
	Name     string
	Priority int
	Port     int    // the process's own gateway port
	LeafPort int    // its leafnode port
	DataDir  string // --data
	link     *faultnet.Link
	// leaf holds the links this region dials to reach the leafnode ports of
	// the regions before it, by their name.
	leaf map[string]*faultnet.Link
	// hub holds, with three or more regions, the links this region dials
	// to reach each control node's leafnode port: the regions link through
	// the control cluster instead of to each other.
	hub []*faultnet.Link
	// ctl holds the links this region dials to reach each control node
	// (it follows the stored role state); a partition cuts them too.
	ctl []*faultnet.Link
	c   *Cluster

	cmd    *exec.Cmd
	exited chan struct{}
	logOut io.WriteCloser
}

func (c *Cluster) newRegion(name string, i int) (*Region, error) {
	port := 0
	if c.opts.RegionPort > 0 {
		port = c.opts.RegionPort + i
	} else if p, err := freePort(); err == nil {
		port = p
	} else {
		return nil, err
	}
	leaf, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Region{Name: name, Priority: i + 1, Port: port, LeafPort: leaf, DataDir: filepath.Join(c.opts.Dir, name), c: c}
	link, err := faultnet.Listen("127.0.0.1:0", r.localAddr(), c.log)
	if err != nil {
		return nil, err
	}
	r.link = link
	return r, nil
}

func (r *Region) localAddr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL is the region's gateway as the outside reaches it (through its link).
func (r *Region) URL() string { return "http://" + r.link.Addr() }

// DirectURL is the region's gateway without the link.
func (r *Region) DirectURL() string { return "http://" + r.localAddr() }

// MasterKeyFile is where the region keeps its master key.
func (r *Region) MasterKeyFile() string { return filepath.Join(r.DataDir, "master.key") }

// MasterKey reads the region's master key.
func (r *Region) MasterKey() (string, error) {
	b, err := os.ReadFile(r.MasterKeyFile())
	if err != nil {
		return "", fmt.Errorf("region %s master key: %w", r.Name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// PID is the region process's id (0 when not running).
func (r *Region) PID() int {
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// StartRegion starts (or restarts) a region process and waits until it is
// ready. Regions start as secondaries; the witness grants the primary role.
func (c *Cluster) StartRegion(ctx context.Context, name string) error {
	r := c.regions[name]
	if r == nil {
		return fmt.Errorf("start region: no region %q", name)
	}
	for attempt := 0; ; attempt++ {
		if err := r.launch(); err != nil {
			return err
		}
		err := poll(ctx, 60*time.Second, "region "+name+" to be ready", func() bool { return r.healthy() || r.hasExited() })
		if err == nil && !r.hasExited() {
			return nil
		}
		tail := r.logTail()
		if attempt < 3 && strings.Contains(tail, "address already in use") {
			if err := c.repickPorts(r); err != nil {
				return err
			}
			continue // another process took a port picked for this region
		}
		if err == nil {
			err = fmt.Errorf("region %s exited during start", name)
		}
		return fmt.Errorf("%w; last lines of its log:\n%s", err, tail)
	}
}

func (r *Region) hasExited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// logTail is the end of the region's log file (empty when logging
// elsewhere).
func (r *Region) logTail() string {
	b, err := os.ReadFile(filepath.Join(r.DataDir, "region.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-8, 0):], "\n")
}

// repickPorts gives a region new ports and re-points the links to it.
func (c *Cluster) repickPorts(r *Region) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	leaf, err := freePort()
	if err != nil {
		return err
	}
	r.Port, r.LeafPort = port, leaf
	r.link.SetTarget(r.localAddr())
	for _, other := range c.regions {
		if l, ok := other.leaf[r.Name]; ok {
			l.SetTarget("127.0.0.1:" + strconv.Itoa(leaf))
		}
	}
	return nil
}

func (r *Region) launch() error {
	if err := os.MkdirAll(r.DataDir, 0o755); err != nil {
		return err
	}
	args := []string{"region", "--name", r.Name, "--http", r.localAddr(), "--data", r.DataDir, "--standby",
		"--leaf-listen", "127.0.0.1:" + strconv.Itoa(r.LeafPort)}
	for _, peer := range r.c.order {
		if peer == r.Name {
			continue
		}
		args = append(args, "--peer", peer)
		if l, ok := r.leaf[peer]; ok {
			args = append(args, "--leaf-remote", "nats-leaf://"+l.Addr())
		}
	}
	if len(r.hub) > 0 {
		args = append(args, "--leaf-remote", leafURLs(r.hub))
	}
	for _, app := range r.c.opts.SyncApps {
		args = append(args, "--sync-app", app)
	}
	// A write held by a standby about to be promoted is refused (not run)
	// before the proxy's response timeout, so the proxy sends it round
	// again instead of answering 504.
	args = append(args, "--write-hold", writeHold(r.c.opts.ResponseTimeout).String())
	if urls := linkURLs(r.ctl); urls != "" {
		args = append(args, "--control", urls)
	}
	if u := r.c.PublicURL(); u != "" {
		args = append(args, "--public-url", u)
	}
	for _, app := range r.c.opts.Apps {
		args = append(args, "--app", app)
	}
	args = append(args, r.c.opts.RegionArgs...)
	cmd := exec.Command(r.c.opts.Binary, args...)
	cmd.Env = append(os.Environ(), "TANDEM_MASTER_KEY=")
	if r.logOut != nil {
		_ = r.logOut.Close() // a previous run's log handle
	}
	out, err := r.output()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := r.c.spawn.start(cmd); err != nil {
		return fmt.Errorf("start region %s: %w", r.Name, err)
	}
	r.cmd, r.exited, r.logOut = cmd, make(chan struct{}), out
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(r.exited) // joined by stop and Kill
	return nil
}

func (r *Region) output() (io.WriteCloser, error) {
	if r.c.opts.RegionLog != nil {
		return nopCloser{r.c.opts.RegionLog}, nil
	}
	f, err := os.OpenFile(filepath.Join(r.DataDir, "region.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("region %s log: %w", r.Name, err)
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (r *Region) healthy() bool {
	select {
	case <-r.exited:
		return false
	default:
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(r.DirectURL() + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// KillRegion kills the region process with SIGKILL, as a crashed machine.
func (c *Cluster) KillRegion(name string) error {
	r := c.regions[name]
	if r == nil || r.cmd == nil {
		return fmt.Errorf("kill region: %q is not running", name)
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a hung process dies too
	if err := r.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill region %s: %w", name, err)
	}
	<-r.exited
	r.logOut.Close()
	return nil
}

// HangRegion stops the region process (SIGSTOP): its sockets stay open
// but nothing answers, as a hung machine.
func (c *Cluster) HangRegion(name string) error { return c.signal(name, syscall.SIGSTOP) }

// ResumeRegion continues a hung region (SIGCONT).
func (c *Cluster) ResumeRegion(name string) error { return c.signal(name, syscall.SIGCONT) }

func (c *Cluster) signal(name string, sig syscall.Signal) error {
	r := c.regions[name]
	if r == nil || r.cmd == nil {
		return fmt.Errorf("signal region: %q is not running", name)
	}
	return r.cmd.Process.Signal(sig)
}

// PartitionRegion cuts every link of the region: the traffic manager can
// no longer reach it and its leafnode links to other regions are down (it
// keeps running).
func (c *Cluster) PartitionRegion(name string) error {
	links, err := c.linksOf(name)
	for _, l := range links {
		l.Cut()
	}
	return err
}

// HealRegion restores the region's links.
func (c *Cluster) HealRegion(name string) error {
	links, err := c.linksOf(name)
	for _, l := range links {
		l.Heal()
	}
	return err
}

func (c *Cluster) linksOf(name string) ([]*faultnet.Link, error) {
	r := c.regions[name]
	if r == nil {
		return nil, fmt.Errorf("no region %q", name)
	}
	links := append(append([]*faultnet.Link{r.link}, r.ctl...), r.hub...)
	for _, other := range c.regions {
		for peer, l := range other.leaf {
			if other.Name == name || peer == name {
				links = append(links, l)
			}
		}
	}
	return links, nil
}

// stop ends the region process gracefully (SIGTERM, then SIGKILL).
func (r *Region) stop(ctx context.Context) error {
	defer r.link.Close()
	for _, l := range append(r.ctl, r.hub...) {
		defer l.Close()
	}
	for _, l := range r.leaf {
		defer l.Close()
	}
	if r.cmd == nil {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-ctx.Done():
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	return r.logOut.Close()
}

// writeHold is a region's write hold for a proxy response timeout: half a
// second less, at least one second.
func writeHold(response time.Duration) time.Duration {
	return max(response-500*time.Millisecond, time.Second)
}
