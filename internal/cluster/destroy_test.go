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
)

// TestDestroyedRegionRebuiltAsStandby: east, the primary, is lost with its
// disk; west takes over; a brand-new east (same name, empty data, a new
// master key) joins as a standby, is seeded from west with the settings
// written before and after the loss, and takes the primary role back.
func TestDestroyedRegionRebuiltAsStandby(t *testing.T) {
	c := startCluster(t)
	east, west := c.Region("east"), c.Region("west")
	oldKey := masterKey(t, east)
	putSetting(t, east, "BEFORE_LOSS", "1")
	eventually(t, "west to have east's setting", 20*time.Second, func() bool { return setting("BEFORE_LOSS", west) == "1" })

	if err := c.Inject("destroy", "east"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(east.DataDir); !os.IsNotExist(err) {
		t.Fatalf("east's data directory survived destroy: %v", err)
	}
	eventually(t, "west to be primary", 20*time.Second, func() bool { return c.Primary() == "west" })
	putSetting(t, west, "AFTER_LOSS", "2")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Restore(ctx, "destroy", "east"); err != nil {
		t.Fatal(err)
	}
	if masterKey(t, east) == oldKey {
		t.Fatal("the rebuilt east has the lost region's master key")
	}
	eventually(t, "the new east to be a confirmed secondary", 30*time.Second, func() bool { return confirmedRole(c, "east") == "secondary" })
	eventually(t, "the new east seeded with settings from before and after the loss", 30*time.Second, func() bool {
		return setting("BEFORE_LOSS", east) == "1" && setting("AFTER_LOSS", east) == "2"
	})
	if err := c.Failover(ctx, "east", true); err != nil {
		t.Fatalf("failback to the rebuilt east: %v", err)
	}
	eventually(t, "the rebuilt east to serve", 30*time.Second, func() bool { return c.Primary() == "east" && servedBy(c) == "east" })
}

func masterKey(t *testing.T, r *Region) string {
	t.Helper()
	k, err := r.MasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func confirmedRole(c *Cluster, name string) string {
	st, err := c.TrafficStatus(context.Background())
	if err != nil {
		return ""
	}
	for _, e := range st.Endpoints {
		if e.Name == name && e.Healthy && e.RoleConfirmed {
			return e.Role
		}
	}
	return ""
}

func putSetting(t *testing.T, r *Region, name, value string) {
	t.Helper()
	code, body := admin(r, http.MethodPut, "/admin/apps/echo/settings/"+name, `{"value":"`+value+`"}`)
	if code/100 != 2 {
		t.Fatalf("set %s in %s: %d %s", name, r.Name, code, body)
	}
}

// setting reads an app setting of the echo app in r ("" when absent).
func setting(name string, r *Region) string {
	code, body := admin(r, http.MethodGet, "/admin/apps/echo/settings/"+name, "")
	var s struct{ Value string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &s) != nil {
		return ""
	}
	return s.Value
}

func admin(r *Region, method, path, body string) (int, string) {
	key, err := r.MasterKey()
	if err != nil {
		return 0, err.Error()
	}
	req, err := http.NewRequest(method, r.DirectURL()+path, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("x-functions-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
