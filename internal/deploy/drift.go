package deploy

import (
	"sort"
)

// RegionState is what one region reported about its packages.
type RegionState struct {
	Region   string
	Packages []PackageStatus
	Err      error // the region could not be asked
}

// Row is one app across the regions.
type Row struct {
	App string
	// By region: the region's package; a reachable region without the
	// app has no entry.
	Regions map[string]PackageStatus
	// Drift: reachable regions disagree on the version, miss the app, or
	// do not serve their current version.
	Drift bool
	// Unreachable regions whose version is unknown.
	Unreachable []string
	// Newest is the region holding the latest deploy (the catch-up source).
	Newest string
}

// Compare lines up the regions' packages per app and flags drift.
func Compare(states []RegionState) []Row {
	rows := map[string]*Row{}
	var down []string
	for _, st := range states {
		if st.Err != nil {
			down = append(down, st.Region)
			continue
		}
		for _, p := range st.Packages {
			row := rows[p.App]
			if row == nil {
				row = &Row{App: p.App, Regions: map[string]PackageStatus{}}
				rows[p.App] = row
			}
			row.Regions[st.Region] = p
		}
	}
	out := make([]Row, 0, len(rows))
	for _, row := range rows {
		row.Unreachable = down
		row.Drift = drifted(row, len(states)-len(down))
		row.Newest = newest(row)
		out = append(out, *row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

func drifted(row *Row, reachable int) bool {
	if len(row.Regions) < reachable {
		return true
	}
	version := ""
	for _, p := range row.Regions {
		if p.Active != p.Version || version != "" && p.Version != version {
			return true
		}
		version = p.Version
	}
	return false
}

// newest is the region with the latest deploy (ties: the first by name).
func newest(row *Row) string {
	names := make([]string, 0, len(row.Regions))
	for n := range row.Regions {
		names = append(names, n)
	}
	sort.Strings(names)
	best := ""
	for _, n := range names {
		if best == "" || row.Regions[n].DeployedAt.After(row.Regions[best].DeployedAt) {
			best = n
		}
	}
	return best
}

// Push is one catch-up step: copy App's current package from From to To.
type Push struct {
	App     string
	From    string
	Version string
	To      []string
}

// Plan lists the pushes that end the drift: per drifted app, the newest
// deploy (or region from's, when from is set and holds the app) goes to
// every reachable region that does not serve it.
func Plan(rows []Row, reachable []string, from string) []Push {
	var out []Push
	for _, row := range rows {
		src := row.Newest
		if _, ok := row.Regions[from]; ok {
			src = from
		}
		if !row.Drift || src == "" {
			continue
		}
		want := row.Regions[src].Version
		p := Push{App: row.App, From: src, Version: want}
		for _, r := range reachable {
			if got, ok := row.Regions[r]; !ok || got.Version != want || got.Active != want {
				p.To = append(p.To, r)
			}
		}
		if len(p.To) > 0 {
			out = append(out, p)
		}
	}
	return out
}
