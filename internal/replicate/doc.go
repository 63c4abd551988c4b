// Package replicate keeps a secondary region's copy of the primary's data
// and gives failover and failback what they need from it.
//
// A region is its own JetStream domain; the secondary links to the primary
// with a leafnode and reaches its JetStream API as $JS.<primary>.API. The
// Mirrorer (secondary side) finds the primary's queue streams, table buckets
// (with the catalog and accounts), timer-status bucket and progress bucket
// and mirrors each into the secondary's own namespace, reporting lag per
// stream. Progress (primary side) records which queue messages were
// processed (ack floor plus out-of-order acks) in a mirrored bucket, so
// Promote can drop them before the secondary's mirrors become writable
// streams. Waiter (primary side) lets sync-mode writes wait until the
// secondary stored them. RescueTail and Reseed bring a returning old
// primary back as a healthy secondary without losing what only it had.
//
// DESIGN.md describes the streams, subjects, consumers and the order of
// every step.
package replicate
