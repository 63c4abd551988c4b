package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/cluster"
	"github.com/tandemhq/tandem/internal/topology"
)

// deployment is what the drill talks to: the public URL, the traffic
// manager's admin API, each region's admin API, and the fault control API.
type deployment struct {
	top        *topology.Topology
	publics    []string // every traffic manager's proxy
	admins     []string // every traffic manager's admin API
	trafficKey string
	control    cluster.ControlInfo
	controlKey string
	http       *http.Client
}

func openDeployment(topoPath string) (*deployment, error) {
	top, err := topology.Load(topoPath)
	if err != nil {
		return nil, err
	}
	key, err := topology.ResolveKey(top.Traffic.AdminKeyFile, top.Traffic.AdminKeyEnv)
	if err != nil {
		return nil, fmt.Errorf("traffic admin key: %w", err)
	}
	d := &deployment{top: top, trafficKey: key, http: &http.Client{Timeout: 10 * time.Second}}
	for _, a := range top.Traffic.PublicAddrs() {
		d.publics = append(d.publics, "http://"+a)
	}
	d.admins = []string{"http://" + top.Traffic.Listen.Admin}
	if len(top.Traffic.Managers) > 0 {
		d.admins = nil
		for _, m := range top.Traffic.Managers {
			d.admins = append(d.admins, "http://"+m.Admin)
		}
	}
	return d, d.loadControl(filepath.Join(filepath.Dir(topoPath), "control.json"))
}

func (d *deployment) loadControl(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("fault control: %w (drills inject faults through the control API that `tandem up` runs; see docs)", err)
	}
	if err := json.Unmarshal(b, &d.control); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	k, err := os.ReadFile(d.control.KeyFile)
	if err != nil {
		return fmt.Errorf("fault control key: %w", err)
	}
	d.controlKey = strings.TrimSpace(string(k))
	return nil
}

// status is the part of the traffic manager's GET /status the drill reads.
type status struct {
	Primary  string `json:"primary"`
	Epoch    uint64 `json:"epoch"`
	Manager  string `json:"manager"`
	Deciding bool   `json:"deciding"`
	Decider  string `json:"decider"`
	// DeciderSince is when the decider took the lock.
	DeciderSince time.Time `json:"deciderSince"`
	Control      *struct {
		Leader string `json:"leader"`
	} `json:"control"`
	admin     string // the admin URL that answered
	Endpoints []struct {
		Name          string `json:"name"`
		Healthy       bool   `json:"healthy"`
		Role          string `json:"role"`
		RoleConfirmed bool   `json:"roleConfirmed"`
	} `json:"endpoints"`
}

// status is GET /status of the deciding traffic manager, else of the
// first that answers (a killed or hung manager is skipped).
func (d *deployment) status(ctx context.Context) (status, error) {
	var first *status
	var errs []error
	for _, a := range d.admins {
		var s status
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := d.call(cctx, http.MethodGet, a+"/status", d.trafficKey, nil, &s)
		cancel()
		s.admin = a
		switch {
		case err != nil:
			errs = append(errs, err)
		case s.Deciding:
			return s, nil
		case first == nil:
			first = &s
		}
	}
	if first != nil {
		return *first, nil
	}
	return status{}, errors.Join(errs...)
}

func (d *deployment) fault(ctx context.Context, path, fault, region string) error {
	return d.call(ctx, http.MethodPost, d.control.URL+path, d.controlKey, cluster.FaultRequest{Fault: fault, Region: region}, nil)
}

// failover asks the deciding traffic manager for a planned switch.
func (d *deployment) failover(ctx context.Context, to string) error {
	st, err := d.status(ctx)
	if err != nil {
		return err
	}
	return d.call(ctx, http.MethodPost, st.admin+"/failover", d.trafficKey, map[string]any{"to": to, "planned": true}, nil)
}

// entities reads every entity of a table of the drill app from a region.
func (d *deployment) entities(ctx context.Context, region, table string) ([]map[string]any, error) {
	return d.entitiesWhere(ctx, region, table, "")
}

// entitiesWhere reads the rows of the drill app's table that match filter
// (OData, "" for all).
func (d *deployment) entitiesWhere(ctx context.Context, region, table, filter string) ([]map[string]any, error) {
	r := d.region(region)
	if r == nil {
		return nil, fmt.Errorf("no region %q in the topology", region)
	}
	key, err := r.AdminKey()
	if err != nil {
		return nil, err
	}
	var all []map[string]any
	next := url.Values{}
	for {
		if filter != "" {
			next.Set("filter", filter)
		}
		var page struct {
			Entities         []map[string]any `json:"entities"`
			NextPartitionKey string           `json:"nextPartitionKey"`
			NextRowKey       string           `json:"nextRowKey"`
		}
		u := strings.TrimRight(r.AdminURL, "/") + "/admin/apps/" + App + "/tables/" + table + "/entities?" + next.Encode()
		if err := d.call(ctx, http.MethodGet, u, key, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Entities...)
		if page.NextPartitionKey == "" && page.NextRowKey == "" {
			return all, nil
		}
		next = url.Values{"nextPartitionKey": {page.NextPartitionKey}, "nextRowKey": {page.NextRowKey}}
	}
}

func (d *deployment) region(name string) *topology.Region {
	for i := range d.top.Regions {
		if d.top.Regions[i].Name == name {
			return &d.top.Regions[i]
		}
	}
	return nil
}

func (d *deployment) call(ctx context.Context, method, u, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("x-functions-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// replicationMode asks a region how far its replication has come:
// "primary" once promoted, "secondary" while following a primary.
func (d *deployment) replicationMode(ctx context.Context, region string) string {
	r := d.region(region)
	if r == nil {
		return ""
	}
	key, err := r.AdminKey()
	if err != nil {
		return ""
	}
	var st struct {
		Mode    string `json:"mode"`
		Mirrors *struct {
			Ready bool `json:"ready"`
		} `json:"mirrors"`
	}
	if err := d.call(ctx, http.MethodGet, strings.TrimRight(r.AdminURL, "/")+"/admin/replication", key, nil, &st); err != nil {
		return ""
	}
	if st.Mode == "secondary" && (st.Mirrors == nil || !st.Mirrors.Ready) {
		return "joining"
	}
	return st.Mode
}

// publish keeps the report in the control cluster (POST /drills on a
// traffic manager), where every manager's status page shows it. A report
// that cannot be kept is still printed: this is best effort.
func (d *deployment) publish(ctx context.Context, rep *Report) {
	st, err := d.status(ctx)
	if err == nil {
		err = d.call(ctx, http.MethodPost, st.admin+"/drills", d.trafficKey, rep, nil)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "drill: report not kept for the status page: %v\n", err)
	}
}
