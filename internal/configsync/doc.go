// Package configsync copies app settings, connection strings and keys from
// the primary region to each secondary, with the rules the seed's scheduled
// scripts applied, so a secondary that is promoted serves the same apps
// with the same configuration and accepts the same client keys.
//
// Rules (rules.go decides, Engine applies):
//
//   - App settings and connection strings: added and modified, never
//     deleted. A name present only in the secondary is reported as an
//     orphan. Names matching an exclusion glob (path.Match syntax; the
//     topology's replication.exclude, default "WEBSITE_*") are region-local:
//     reported as excluded in a plan, never copied, never orphans.
//     AzureWebJobs.<Function>.Disabled is replicated like any setting: a
//     function disabled in the primary must stay disabled after a failover,
//     and a secondary needs no local switch because its triggers are
//     role-gated; add the pattern to replication.exclude to keep it local.
//   - Keys: each host function key, host system key and function key x of
//     the primary is written to the secondary, in the same scope, as HA-x,
//     only when absent or different. The secondary's own keys are never
//     overwritten or deleted: an HA-x that the secondary owns (one not
//     written by this package) is a collision, skipped and reported. An HA-x
//     whose source x is gone from the primary is reported (source-deleted),
//     never deleted. Keys the primary itself holds as replicas (written
//     there by this package while it was a secondary) are not copied on,
//     so a failback does not grow HA-HA- names. Which keys are replicas is
//     recorded in the region's sync bucket.
//   - The master key is never copied: it is one per region and guards that
//     region's admin API, and the traffic manager (the witness) holds each
//     region's own master key to set roles; sharing it would let one
//     leaked file open every region and make the witness unable to tell
//     regions apart. It lives in a file, not in the keys bucket, so it is
//     out of reach of the rules anyway.
//
// After replication a client's key from the primary authenticates in the
// secondary at the same level, because HA-x sits in x's scope.
//
// Continuous mode (Syncer): inside a secondary that knows its primary, the
// Syncer watches the primary's settings, keys and sync buckets across the
// leafnode (cross-domain KV watch) and applies changes as they arrive; it
// re-targets when the primary changes and stops when the region becomes
// primary. The CLI (tandem sync plan|apply) runs the same rules through the
// admin API: GET /admin/sync/snapshot on the primary, POST
// /admin/sync/plan or /admin/sync/apply on each secondary. Every applied
// change is recorded (time, app, name, kind; never a value) in the
// secondary's <region>_audit stream and in the log.
package configsync
