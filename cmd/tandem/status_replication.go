package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tandemhq/tandem/internal/deploy"
	"github.com/tandemhq/tandem/internal/region"
)

// replicationState is one region's GET /admin/replication.
type replicationState struct {
	region string
	st     region.ReplicationStatus
	err    error
}

// collectReplication asks every region for its replication state at once.
func collectReplication(ctx context.Context, regions []*deploy.Client) []replicationState {
	out := make([]replicationState, len(regions))
	var wg sync.WaitGroup
	for i, c := range regions {
		wg.Go(func() {
			st, err := fetchReplication(ctx, c)
			out[i] = replicationState{region: c.Region, st: st, err: err}
		})
	}
	wg.Wait()
	return out
}

func fetchReplication(ctx context.Context, c *deploy.Client) (region.ReplicationStatus, error) {
	var st region.ReplicationStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+"/admin/replication", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("x-functions-key", c.Key)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return st, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// printReplication writes each region's mode and, for a secondary, the lag
// of every mirrored stream.
func printReplication(w io.Writer, states []replicationState) {
	fmt.Fprintln(w, "\nREPLICATION")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tMODE\tFOLLOWS\tSTREAM\tLAG (MSGS)\tLAG (S)\tACTIVE")
	for _, s := range states {
		if s.err != nil {
			fmt.Fprintf(tw, "%s\tunreachable\t\t\t\t\t(%v)\n", s.region, s.err)
			continue
		}
		mode := s.st.Mode
		if mode == "" {
			mode = "waiting for a role"
		}
		if s.st.Mirrors == nil || len(s.st.Mirrors.Mirrors) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\n", s.region, mode, follows(s.st))
			continue
		}
		for _, m := range s.st.Mirrors.Mirrors {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.3f\t%v\n", s.region, mode, follows(s.st), m.Stream, m.LagMessages, m.LagSeconds, m.Active)
		}
	}
	_ = tw.Flush()
}

func follows(st region.ReplicationStatus) string {
	if st.Mode == "secondary" {
		return st.Primary
	}
	return "-"
}
