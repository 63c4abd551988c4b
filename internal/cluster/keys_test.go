package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

func adminCall(t *testing.T, method, url, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("x-functions-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func roleOf(t *testing.T, r *Region) role.State {
	t.Helper()
	key, err := r.MasterKey()
	if err != nil {
		t.Fatal(err)
	}
	code, b := adminCall(t, http.MethodGet, r.DirectURL()+"/admin/role", key)
	var s role.State
	if code != http.StatusOK || json.Unmarshal(b, &s) != nil {
		t.Fatalf("GET /admin/role of %s: %d %s", r.Name, code, b)
	}
	return s
}

// TestMasterKeyRotation: rotating the primary's master key through its
// admin API does not take it down: the traffic managers reread the key
// file and keep renewing its lease. A key file left stale (the region
// refuses the key it holds) takes the region out of rotation loudly, and
// the primary role moves to a region that accepts grants.
func TestMasterKeyRotation(t *testing.T) {
	c := startCluster(t)
	east := c.Region("east")
	old, err := east.MasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if code, b := adminCall(t, http.MethodPost, east.DirectURL()+"/admin/host/keys/_master", old); code/100 != 2 {
		t.Fatalf("rotate the master key: %d %s", code, b)
	}
	if k, _ := east.MasterKey(); k == old {
		t.Fatal("the master key file was not rewritten")
	}
	rotated := time.Now()
	epoch := roleOf(t, east).Epoch
	eventually(t, "east's lease renewed with the new key, three leases after the rotation", 20*time.Second, func() bool {
		s := roleOf(t, east)
		return s.Epoch == epoch && s.LeaseUntil.After(rotated.Add(3*c.opts.Lease))
	})
	if p := c.Primary(); p != "east" {
		t.Fatalf("primary after a key rotation: %q", p)
	}

	if err := os.WriteFile(east.MasterKeyFile(), []byte(old+"\n"), 0o600); err != nil { // a stale key file
		t.Fatal(err)
	}
	eventually(t, "east out of rotation and west primary", 30*time.Second, func() bool {
		st, err := c.TrafficStatus(context.Background())
		if err != nil || st.Primary != "west" {
			return false
		}
		for _, e := range st.Endpoints {
			if e.Name == "east" {
				return !e.Healthy && strings.Contains(e.Reason, "refuses role grants")
			}
		}
		return false
	})
}
