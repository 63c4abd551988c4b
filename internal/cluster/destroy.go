package cluster

import (
	"context"
	"fmt"
	"os"
)

// DestroyRegion loses a region with its disk: the process is killed with
// SIGKILL and its data directory (store, master key, log) deleted. Nothing
// it held that the other regions had not replicated survives.
func (c *Cluster) DestroyRegion(name string) error {
	if err := c.KillRegion(name); err != nil {
		return fmt.Errorf("destroy region: %w", err)
	}
	if err := os.RemoveAll(c.regions[name].DataDir); err != nil {
		return fmt.Errorf("destroy region %s: delete its data: %w", name, err)
	}
	return nil
}

// RebuildRegion is the operator's path back after DestroyRegion: a
// brand-new region of the same name starts on an empty data directory. It
// starts as a standby (as every region does), with a new master key,
// which the traffic managers read from its key file before their next
// grant (the old one was lost with the disk); the decider then grants it
// the secondary role,
// and it seeds itself by mirroring the primary's streams, buckets,
// settings and keys from their first message, after which it is eligible
// for failback.
func (c *Cluster) RebuildRegion(ctx context.Context, name string) error {
	if err := c.StartRegion(ctx, name); err != nil {
		return fmt.Errorf("rebuild region: %w", err)
	}
	return nil
}
