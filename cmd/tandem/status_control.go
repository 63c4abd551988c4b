package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tandemhq/tandem/internal/topology"
	"github.com/tandemhq/tandem/internal/traffic"
)

// managerStatus is one traffic manager's GET /status, or why it failed.
type managerStatus struct {
	ID, Admin string
	Status    traffic.Status
	Err       error
}

// collectControl asks every traffic manager of the deployment for its
// status (the control plane's view: deciders, managers, control cluster).
func collectControl(ctx context.Context, top *topology.Topology) []managerStatus {
	key, keyErr := top.Traffic.AdminKey()
	mgrs := top.Traffic.Managers
	if len(mgrs) == 0 {
		mgrs = []topology.Manager{{ID: "traffic", HTTP: top.Traffic.Listen.HTTP, Admin: top.Traffic.Listen.Admin}}
	}
	out := make([]managerStatus, len(mgrs))
	for i, m := range mgrs {
		out[i] = managerStatus{ID: m.ID, Admin: m.Admin, Err: keyErr}
		if keyErr == nil {
			out[i].Status, out[i].Err = fetchTrafficStatus(ctx, "http://"+m.Admin, key)
		}
	}
	return out
}

func fetchTrafficStatus(ctx context.Context, admin, key string) (traffic.Status, error) {
	var st traffic.Status
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/status", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("x-functions-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return st, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// printControl writes the traffic managers and the control cluster.
func printControl(w io.Writer, ms []managerStatus) {
	fmt.Fprintln(w, "\nTraffic managers:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tADMIN\tDECIDING\tPRIMARY\tLEASE\tCONTROL")
	var health *traffic.Status
	for _, m := range ms {
		if m.Err != nil {
			fmt.Fprintf(tw, "  %s\t%s\tunreachable: %v\t\t\t\n", m.ID, m.Admin, m.Err)
			continue
		}
		st := m.Status
		ctl := "ok"
		if st.ControlError != "" {
			ctl = "error: " + st.ControlError
		}
		fmt.Fprintf(tw, "  %s\t%s\t%v\t%s@%d\t%s\t%s\n", m.ID, m.Admin, st.Deciding, st.Primary, st.Epoch, st.Lease, ctl)
		if health == nil && st.Control != nil {
			health = &m.Status
		}
	}
	_ = tw.Flush()
	if health == nil {
		fmt.Fprintln(w, "\nControl cluster: no traffic manager could describe it")
		return
	}
	c := health.Control
	fmt.Fprintf(w, "\nControl cluster %s: decider %s, bucket leader %s, %d replicas\n", c.Cluster, health.Decider, c.Leader, c.Replicas)
	for _, p := range c.Peers {
		state := "current"
		switch {
		case p.Offline:
			state = "OFFLINE"
		case !p.Current:
			state = fmt.Sprintf("behind by %d", p.Lag)
		}
		fmt.Fprintf(w, "  %-16s %s\n", p.Name, state)
	}
}
