package replicate

import (
	"context"
	"maps"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// appMetaPrefix marks stream metadata an app sets (a queue's metadata,
// internal/queue's metaPrefix). A mirror copies its origin's metadata
// only when it is created, so the Mirrorer copies later changes: without
// it, metadata set after the mirror existed would be lost at failover.
const appMetaPrefix = "azure.meta."

// syncMeta gives the local mirror its origin's app metadata when they
// differ, keeping the mirror's own keys. It reports whether it updated.
func (m *Mirrorer) syncMeta(ctx context.Context, local, origin *jetstream.StreamInfo) bool {
	if local == nil || origin == nil || local.Config.Mirror == nil {
		return false
	}
	want := appMeta(origin.Config.Metadata)
	if maps.Equal(want, appMeta(local.Config.Metadata)) {
		return false
	}
	cfg := local.Config
	md := map[string]string{}
	for k, v := range cfg.Metadata {
		if !strings.HasPrefix(k, appMetaPrefix) {
			md[k] = v
		}
	}
	maps.Copy(md, want)
	cfg.Metadata = md
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	if _, err := m.local.UpdateStream(ctx, cfg); err != nil {
		m.log.Warn("mirror metadata not updated; retrying every poll", "stream", cfg.Name, "err", err)
		return false
	}
	m.log.Info("mirror metadata updated from its origin", "stream", cfg.Name, "keys", len(want))
	return true
}

// appMeta is the app-set part of a stream's metadata.
func appMeta(md map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		if strings.HasPrefix(k, appMetaPrefix) {
			out[k] = v
		}
	}
	return out
}
