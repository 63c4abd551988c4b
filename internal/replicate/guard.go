package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// A guard is a sealed, empty stream listening on the subjects a mirror
// will take when promoted. While it exists nothing can be stored under
// them (a publish gets "invalid operation on sealed stream" instead of
// landing anywhere), and no config update can give the mirror those
// subjects: JetStream refuses overlapping subjects. Without it, a service
// in the secondary calling CreateOrUpdateKeyValue or CreateOrUpdateStream
// on a mirrored name (a table read opens the catalog that way) would
// silently promote that one mirror, which then stops replicating. Promote
// deletes a mirror's guard just before promoting it.

// guardName is the guard of a local mirror: "<region>_guard_<mirror>".
func guardName(region, mirror string) string { return broker.Name(region, "guard", mirror) }

// ensureGuard creates (then seals: a stream cannot be created sealed)
// the guard of mirror cfg unless it exists.
func ensureGuard(ctx context.Context, js jetstream.JetStream, region string, cfg jetstream.StreamConfig, replicas int) error {
	name := guardName(region, cfg.Name)
	st, err := js.Stream(ctx, name)
	switch {
	case err == nil && st.CachedInfo().Config.Sealed:
		return nil
	case err == nil:
	case errors.Is(err, jetstream.ErrStreamNotFound):
		st, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        name,
			Description: "keeps " + cfg.Name + "'s subjects unwritable until it is promoted",
			Subjects:    promotedSubjects(cfg),
			Storage:     jetstream.FileStorage,
			Replicas:    max(replicas, 1),
		})
		if err != nil {
			return fmt.Errorf("guard %s: create: %w", name, err)
		}
	default:
		return fmt.Errorf("guard %s: %w", name, err)
	}
	sealed := st.CachedInfo().Config
	sealed.Sealed = true
	if _, err := js.UpdateStream(ctx, sealed); err != nil {
		return fmt.Errorf("guard %s: seal: %w", name, err)
	}
	return nil
}

// dropGuard deletes a mirror's guard (absent is fine).
func dropGuard(ctx context.Context, js jetstream.JetStream, region, mirror string) error {
	err := js.DeleteStream(ctx, guardName(region, mirror))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete guard of %s: %w", mirror, err)
	}
	return nil
}
