package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/internal/faultnet"
	"github.com/tandemhq/tandem/internal/topology"
	"github.com/tandemhq/tandem/internal/traffic"
)

// TrafficManager is one `tandem traffic` process. It reaches every control
// node through a link of its own, so PartitionTraffic cuts it off from the
// control quorum while it still reaches the regions.
type TrafficManager struct {
	ID      string
	Listen  topology.Listen // bound addresses (ports picked up front)
	want    topology.Listen // as asked ("host:0": any free port)
	DataDir string
	links   []*faultnet.Link // to each control node, in order
	c       *Cluster
	proc
}

func (c *Cluster) newTrafficManager(i int) (*TrafficManager, error) {
	id := fmt.Sprintf("tm%d", i+1)
	want := topology.Listen{HTTP: "127.0.0.1:0", Admin: "127.0.0.1:0", DNS: "127.0.0.1:0"}
	if i < len(c.opts.Traffic) {
		want = c.opts.Traffic[i]
	}
	dir := filepath.Join(c.opts.Dir, "traffic", id)
	t := &TrafficManager{ID: id, want: want, DataDir: dir, c: c, proc: proc{what: "traffic manager " + id, logPath: filepath.Join(dir, "traffic.log")}}
	if err := t.pickPorts(); err != nil {
		return nil, err
	}
	links, err := c.controlLinks()
	if err != nil {
		return nil, err
	}
	t.links = links
	return t, nil
}

// pickPorts resolves the wanted addresses ("host:0": a free port now).
func (t *TrafficManager) pickPorts() error {
	l := t.want
	var err error
	for _, a := range []*string{&l.HTTP, &l.Admin, &l.DNS} {
		if *a, err = resolvePort(*a); err != nil {
			return err
		}
	}
	t.Listen = l
	return nil
}

// resolvePort turns "host:0" into a free port on host, so the address can
// be written into the topology file before the process binds it.
func resolvePort(addr string) (string, error) {
	if addr == "" || !strings.HasSuffix(addr, ":0") {
		return addr, nil
	}
	p, err := freePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", strings.TrimSuffix(addr, ":0"), p), nil
}

func (t *TrafficManager) controlURLs() string { return linkURLs(t.links) }

// linkURLs are NATS URLs through links, comma-separated.
// leafURLs is one leafnode remote reaching any of the links.
func leafURLs(links []*faultnet.Link) string {
	urls := make([]string, len(links))
	for i, l := range links {
		urls[i] = "nats-leaf://" + l.Addr()
	}
	return strings.Join(urls, ",")
}

func linkURLs(links []*faultnet.Link) string {
	urls := make([]string, len(links))
	for i, l := range links {
		urls[i] = "nats://" + l.Addr()
	}
	return strings.Join(urls, ",")
}

// URL is the manager's public proxy URL; AdminURL its admin API.
func (t *TrafficManager) URL() string      { return "http://" + t.Listen.HTTP }
func (t *TrafficManager) AdminURL() string { return "http://" + t.Listen.Admin }

// launch starts the process and waits until its /healthz answers. A port
// picked free and taken by another program before the manager bound it
// makes it pick new ones (when it was asked for any port) and try again.
func (t *TrafficManager) launch(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := t.launchOnce(ctx)
		if err == nil {
			return nil
		}
		if attempt >= 3 || t.running() || !strings.Contains(t.logTail(), "address already in use") || t.want == t.Listen {
			return err
		}
		if err := t.pickPorts(); err != nil {
			return err
		}
		if t.c.public != nil && t == t.c.managers[0] {
			t.c.public.SetTarget(t.Listen.HTTP)
		}
		if err := t.c.writeTopology(); err != nil {
			return err
		}
	}
}

func (t *TrafficManager) launchOnce(ctx context.Context) error {
	args := []string{"traffic", "--config", t.c.topoPath, "--id", t.ID, "--data", t.DataDir, "--control", t.controlURLs()}
	if err := t.start(t.c.spawn, t.c.opts.Binary, args, nil); err != nil {
		return err
	}
	err := poll(ctx, 60*time.Second, t.what+" to be ready", func() bool { return !t.running() || t.ready() })
	if err == nil && !t.running() {
		err = fmt.Errorf("%s exited during start", t.what)
	}
	if err != nil {
		return fmt.Errorf("%w; last lines of its log:\n%s", err, t.logTail())
	}
	return nil
}

func (t *TrafficManager) ready() bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(t.AdminURL() + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Status reads the manager's GET /status.
func (t *TrafficManager) Status(ctx context.Context) (traffic.Status, error) {
	var st traffic.Status
	key, err := os.ReadFile(t.c.keyPath)
	if err != nil {
		return st, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.AdminURL()+"/status", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("x-functions-key", strings.TrimSpace(string(key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("%s status: %w", t.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s status: %s", t.ID, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (t *TrafficManager) closeLinks() {
	for _, l := range t.links {
		_ = l.Close()
	}
}

// TrafficManagers lists the traffic managers in order.
func (c *Cluster) TrafficManagers() []*TrafficManager { return c.managers }

// TrafficManager returns a traffic manager by id.
func (c *Cluster) TrafficManager(id string) (*TrafficManager, error) {
	var ids []string
	for _, t := range c.managers {
		if t.ID == id {
			return t, nil
		}
		ids = append(ids, t.ID)
	}
	return nil, fmt.Errorf("no traffic manager %q (have %s)", id, strings.Join(ids, ", "))
}

// KillTraffic kills a traffic manager with SIGKILL.
func (c *Cluster) KillTraffic(id string) error { return c.onTraffic(id, (*TrafficManager).kill) }

// HangTraffic stops a traffic manager (SIGSTOP); ResumeTraffic continues it.
func (c *Cluster) HangTraffic(id string) error {
	return c.onTraffic(id, func(t *TrafficManager) error { return t.signal(syscall.SIGSTOP) })
}

// ResumeTraffic continues a hung traffic manager (SIGCONT).
func (c *Cluster) ResumeTraffic(id string) error {
	return c.onTraffic(id, func(t *TrafficManager) error { return t.signal(syscall.SIGCONT) })
}

// PartitionTraffic cuts a traffic manager off from every control node; it
// still reaches the regions and serves clients. HealTraffic undoes it.
func (c *Cluster) PartitionTraffic(id string) error {
	return c.onTraffic(id, func(t *TrafficManager) error {
		for _, l := range t.links {
			l.Cut()
		}
		return nil
	})
}

// HealTraffic restores a traffic manager's control links.
func (c *Cluster) HealTraffic(id string) error {
	return c.onTraffic(id, func(t *TrafficManager) error {
		for _, l := range t.links {
			l.Heal()
		}
		return nil
	})
}

// RestartTraffic starts a killed traffic manager again.
func (c *Cluster) RestartTraffic(ctx context.Context, id string) error {
	return c.onTraffic(id, func(t *TrafficManager) error {
		if t.running() {
			return nil
		}
		return t.launch(ctx)
	})
}

func (c *Cluster) onTraffic(id string, f func(*TrafficManager) error) error {
	t, err := c.TrafficManager(id)
	if err != nil {
		return err
	}
	return f(t)
}

// Decider is the id of the traffic manager that decides now, as the first
// manager that answers reports it ("" when none answers or none decides).
func (c *Cluster) Decider(ctx context.Context) string {
	st, err := c.TrafficStatus(ctx)
	if err != nil {
		return ""
	}
	return st.Decider
}

// TrafficStatus is GET /status of the deciding traffic manager, else of
// the first one that answers.
func (c *Cluster) TrafficStatus(ctx context.Context) (traffic.Status, error) {
	var errs []string
	var first *traffic.Status
	for _, t := range c.managers {
		if !t.running() {
			continue
		}
		st, err := t.Status(ctx)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case st.Deciding:
			return st, nil
		case first == nil:
			first = &st
		}
	}
	if first != nil {
		return *first, nil
	}
	return traffic.Status{}, fmt.Errorf("no traffic manager answered: %s", strings.Join(errs, "; "))
}

// ReloadTraffic tells every running traffic manager to reread the
// topology file (SIGHUP) and waits until each reports routing as want.
func (c *Cluster) ReloadTraffic(ctx context.Context, want string) error {
	for _, t := range c.managers {
		if !t.running() {
			continue
		}
		if err := t.signal(syscall.SIGHUP); err != nil {
			return err
		}
		err := poll(ctx, 10*time.Second, t.what+" to reload", func() bool {
			st, err := t.Status(ctx)
			return err == nil && st.Routing == want
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Failover asks the traffic managers for a failover to the region named to
// (POST /failover on the first that answers; a manager that does not
// decide redirects to the one that does).
func (c *Cluster) Failover(ctx context.Context, to string, planned bool) error {
	key, err := os.ReadFile(c.keyPath)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(traffic.FailoverRequest{To: to, Planned: planned})
	var errs []string
	for _, t := range c.managers {
		if !t.running() {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.AdminURL()+"/failover", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("x-functions-key", strings.TrimSpace(string(key)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: %s %s", t.ID, resp.Status, bytes.TrimSpace(b)))
	}
	return fmt.Errorf("failover to %s: %s", to, strings.Join(errs, "; "))
}

// controlLinks opens one link to each control node.
func (c *Cluster) controlLinks() ([]*faultnet.Link, error) {
	return c.linksTo(func(n *ControlNode) string { return n.ClientAddr() })
}

// hubLinks opens a link to each control node's leafnode port.
func (c *Cluster) hubLinks() ([]*faultnet.Link, error) {
	return c.linksTo(func(n *ControlNode) string { return n.LeafAddr() })
}

func (c *Cluster) linksTo(addr func(*ControlNode) string) ([]*faultnet.Link, error) {
	var links []*faultnet.Link
	for _, n := range c.control {
		link, err := faultnet.Listen("127.0.0.1:0", addr(n), c.log)
		if err != nil {
			for _, l := range links {
				_ = l.Close()
			}
			return nil, err
		}
		links = append(links, link)
	}
	return links, nil
}
