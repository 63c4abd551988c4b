package drill

import (
	"bytes"
	"context"
	"encoding/json"
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
	public     string
	admin      string
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
	d := &deployment{top: top, public: "http://" + top.Traffic.Listen.HTTP, admin: "http://" + top.Traffic.Listen.Admin,
		trafficKey: key, http: &http.Client{Timeout: 10 * time.Second}}
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
	Primary   string `json:"primary"`
	Epoch     uint64 `json:"epoch"`
	Endpoints []struct {
		Name          string `json:"name"`
		Healthy       bool   `json:"healthy"`
		Role          string `json:"role"`
		RoleConfirmed bool   `json:"roleConfirmed"`
	} `json:"endpoints"`
}

func (d *deployment) status(ctx context.Context) (status, error) {
	var s status
	err := d.call(ctx, http.MethodGet, d.admin+"/status", d.trafficKey, nil, &s)
	return s, err
}

func (d *deployment) fault(ctx context.Context, path, fault, region string) error {
	return d.call(ctx, http.MethodPost, d.control.URL+path, d.controlKey, cluster.FaultRequest{Fault: fault, Region: region}, nil)
}

func (d *deployment) failover(ctx context.Context, to string) error {
	return d.call(ctx, http.MethodPost, d.admin+"/failover", d.trafficKey, map[string]any{"to": to, "planned": true}, nil)
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
