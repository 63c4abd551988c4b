// Package blobtrigger runs Azure Functions blob triggers on the region's
// blob store (internal/blob): path patterns parsed as the host's blob
// extension parses them (ParsePattern), a Listener per function that
// watches its container bucket's meta subjects (a scan of what exists,
// then every new version), receipts per function and blob version in
// the region's replicated KV bucket <region>_blobreceipts (claim, done,
// failed, poisoned) so each version fires once across restarts and
// failovers, retries up to maxDequeueCount and the host's poison queue
// webjobs-blobtrigger-poison, and the custom-handler Metadata the host
// sends for a blob. See DESIGN.md.
package blobtrigger
