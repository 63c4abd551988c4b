package deploy

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func ps(app, version string, at int, active ...string) PackageStatus {
	a := version
	if len(active) > 0 {
		a = active[0]
	}
	return PackageStatus{Package: Package{App: app, Version: version, DeployedAt: time.Unix(int64(at), 0)}, Active: a}
}

func TestCompareAndPlan(t *testing.T) {
	down := errors.New("connection refused")
	cases := []struct {
		name        string
		states      []RegionState
		from        string
		drift       map[string]bool
		newest      map[string]string
		unreachable []string
		plan        []Push
	}{
		{
			name:   "in step",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v1", 1)}}, {Region: "west", Packages: []PackageStatus{ps("shop", "v1", 1)}}},
			drift:  map[string]bool{"shop": false}, newest: map[string]string{"shop": "east"},
		},
		{
			name:   "west missed a deploy",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v2", 2)}}, {Region: "west", Packages: []PackageStatus{ps("shop", "v1", 1)}}},
			drift:  map[string]bool{"shop": true}, newest: map[string]string{"shop": "east"},
			plan: []Push{{App: "shop", From: "east", Version: "v2", To: []string{"west"}}},
		},
		{
			name:   "east missed a deploy: the newer one wins",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v1", 1)}}, {Region: "west", Packages: []PackageStatus{ps("shop", "v2", 2)}}},
			drift:  map[string]bool{"shop": true}, newest: map[string]string{"shop": "west"},
			plan: []Push{{App: "shop", From: "west", Version: "v2", To: []string{"east"}}},
		},
		{
			name:   "forced source",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v1", 1)}}, {Region: "west", Packages: []PackageStatus{ps("shop", "v2", 2)}}},
			from:   "east",
			drift:  map[string]bool{"shop": true}, newest: map[string]string{"shop": "west"},
			plan: []Push{{App: "shop", From: "east", Version: "v1", To: []string{"west"}}},
		},
		{
			name: "app missing in a region",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v1", 1), ps("cart", "c1", 1)}},
				{Region: "west", Packages: []PackageStatus{ps("shop", "v1", 1)}}},
			drift: map[string]bool{"shop": false, "cart": true}, newest: map[string]string{"shop": "east", "cart": "east"},
			plan: []Push{{App: "cart", From: "east", Version: "c1", To: []string{"west"}}},
		},
		{
			name:   "current version not served",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v2", 2)}}, {Region: "west", Packages: []PackageStatus{ps("shop", "v2", 2, "v1")}}},
			drift:  map[string]bool{"shop": true}, newest: map[string]string{"shop": "east"},
			plan: []Push{{App: "shop", From: "east", Version: "v2", To: []string{"west"}}},
		},
		{
			name:   "unreachable region is not drift",
			states: []RegionState{{Region: "east", Packages: []PackageStatus{ps("shop", "v2", 2)}}, {Region: "west", Err: down}},
			drift:  map[string]bool{"shop": false}, newest: map[string]string{"shop": "east"}, unreachable: []string{"west"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := Compare(c.states)
			var reachable []string
			for _, st := range c.states {
				if st.Err == nil {
					reachable = append(reachable, st.Region)
				}
			}
			if len(rows) != len(c.drift) {
				t.Fatalf("%d rows, want %d", len(rows), len(c.drift))
			}
			for _, r := range rows {
				if r.Drift != c.drift[r.App] || r.Newest != c.newest[r.App] || !reflect.DeepEqual(r.Unreachable, c.unreachable) {
					t.Fatalf("row %s: drift %v newest %s unreachable %v", r.App, r.Drift, r.Newest, r.Unreachable)
				}
			}
			if got := Plan(rows, reachable, c.from); !reflect.DeepEqual(got, c.plan) {
				t.Fatalf("plan %+v, want %+v", got, c.plan)
			}
		})
	}
}
