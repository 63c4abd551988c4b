package region

import "time"

// tableGeoReplication answers the Table service's Get Service Stats as
// Azure's secondary endpoint does, from what this region knows: a
// region reading a replica is live as of its lag bound (every write
// before now minus the bound is in it), or unavailable while that bound
// is unknown; a region serving its own data is live as of now.
func (r *Region) tableGeoReplication() (string, time.Time) {
	now := r.opts.Clock.Now()
	lag, ok := r.replicaLag()
	switch {
	case !ok:
		return "live", now
	case !lag.Known:
		return "unavailable", time.Time{}
	}
	return "live", now.Add(-lag.Bound)
}
