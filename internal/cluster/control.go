package cluster

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Control is the fault-injection API a running cluster offers to
// `tandem drill` (another process): POST /fault {"fault","region"} with
// kill, hang or partition, POST /restore {"region"} to restart, resume or
// heal, GET /regions. It needs the traffic manager's admin key.
type Control struct {
	c   *Cluster
	srv *http.Server
	ln  net.Listener
}

// ControlInfo is written to <Dir>/control.json for drills to find.
type ControlInfo struct {
	URL     string `json:"url"`
	KeyFile string `json:"keyFile"`
}

// ServeControl starts the control API on addr and writes control.json.
func (c *Cluster) ServeControl(addr string) (*Control, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("control listen %s: %w", addr, err)
	}
	ctl := &Control{c: c, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /fault", ctl.fault)
	mux.HandleFunc("POST /restore", ctl.restore)
	mux.HandleFunc("GET /regions", ctl.regions)
	ctl.srv = &http.Server{Handler: ctl.auth(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ctl.srv.Serve(ln) }() // ends with Close
	info := ControlInfo{URL: "http://" + ln.Addr().String(), KeyFile: c.keyPath}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(c.opts.Dir, "control.json"), b, 0o644); err != nil {
		_ = ctl.Close()
		return nil, err
	}
	return ctl, nil
}

// Close stops the control API.
func (ctl *Control) Close() error { return ctl.srv.Close() }

func (ctl *Control) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, err := os.ReadFile(ctl.c.keyPath)
		got := r.Header.Get("x-functions-key")
		if err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(strings.TrimSpace(string(want)))) != 1 {
			http.Error(w, `{"error":"the traffic manager's admin key is required"}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// FaultRequest is the body of POST /fault and POST /restore. Region names
// the target: a region for kill, hang and partition, a traffic manager id
// for traffic-kill, traffic-hang and traffic-partition, a control node
// for control-node.
type FaultRequest struct {
	Fault  string `json:"fault"`
	Region string `json:"region"`
}

func (ctl *Control) fault(w http.ResponseWriter, r *http.Request) {
	var req FaultRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("POST /fault: body: %w", err))
		return
	}
	if err := ctl.c.Inject(req.Fault, req.Region); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (ctl *Control) restore(w http.ResponseWriter, r *http.Request) {
	var req FaultRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("POST /restore: body: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	if err := ctl.c.Restore(ctx, req.Fault, req.Region); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (ctl *Control) regions(w http.ResponseWriter, _ *http.Request) {
	type info struct {
		Name, URL, MasterKeyFile string
		PID                      int
	}
	var out []info
	for _, r := range ctl.c.Regions() {
		out = append(out, info{r.Name, r.URL(), r.MasterKeyFile(), r.PID()})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// Faults are the faults Inject knows.
const Faults = "kill, hang, partition, traffic-kill, traffic-hang, traffic-partition or control-node"

// Inject applies a fault: to a region, kill (SIGKILL), hang (SIGSTOP) or
// partition (its links cut); to a traffic manager, traffic-kill,
// traffic-hang or traffic-partition (cut from the control quorum); to a
// control node, control-node (SIGKILL).
func (c *Cluster) Inject(fault, target string) error {
	switch fault {
	case "kill":
		return c.KillRegion(target)
	case "hang":
		return c.HangRegion(target)
	case "partition":
		return c.PartitionRegion(target)
	case "traffic-kill":
		return c.KillTraffic(target)
	case "traffic-hang":
		return c.HangTraffic(target)
	case "traffic-partition":
		return c.PartitionTraffic(target)
	case "control-node":
		return c.KillControlNode(target)
	case "destroy":
		return c.DestroyRegion(target)
	default:
		return fmt.Errorf("fault %q: use %s", fault, Faults)
	}
}

// Restore undoes a fault: restarts what was killed, resumes what hung,
// heals what was partitioned.
func (c *Cluster) Restore(ctx context.Context, fault, target string) error {
	switch fault {
	case "kill":
		return c.StartRegion(ctx, target)
	case "hang":
		return c.ResumeRegion(target)
	case "partition":
		return c.HealRegion(target)
	case "traffic-kill":
		return c.RestartTraffic(ctx, target)
	case "traffic-hang":
		return c.ResumeTraffic(target)
	case "traffic-partition":
		return c.HealTraffic(target)
	case "control-node":
		return c.RestartControlNode(ctx, target)
	case "destroy":
		return c.RebuildRegion(ctx, target)
	default:
		return errors.New("restore: fault must be one of " + Faults)
	}
}

func writeErr(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
