package replicate

import (
	"fmt"
	"maps"

	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys set on mirrors.
const (
	metaOrigin = "tandem.mirror.origin" // origin stream name
	metaDomain = "tandem.mirror.domain" // origin region (JetStream domain)
)

// mirrorConfig returns the configuration of local's mirror of origin, a
// stream of region primary. The mirror has the origin's limits and
// retention (a work-queue mirror promotes into a work queue: retention
// cannot change later), transforms the origin's subjects into local's
// namespace as it stores them (so data is addressable under local's own
// names once promoted), and republishes each stored message's headers on
// notifyPrefix for sync-mode waiters in the primary.
func mirrorConfig(origin jetstream.StreamConfig, primary, local string, replicas int) (jetstream.StreamConfig, error) {
	transforms, err := subjectTransforms(origin.Subjects, primary, local)
	if err != nil {
		return jetstream.StreamConfig{}, fmt.Errorf("mirror of %s: %w", origin.Name, err)
	}
	meta := maps.Clone(origin.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[metaOrigin], meta[metaDomain] = origin.Name, primary
	return jetstream.StreamConfig{
		Name:              rename(origin.Name, primary, local),
		Description:       origin.Description,
		Retention:         origin.Retention,
		MaxConsumers:      origin.MaxConsumers,
		MaxMsgs:           origin.MaxMsgs,
		MaxBytes:          origin.MaxBytes,
		Discard:           origin.Discard,
		MaxAge:            origin.MaxAge,
		MaxMsgsPerSubject: origin.MaxMsgsPerSubject,
		MaxMsgSize:        origin.MaxMsgSize,
		Storage:           origin.Storage,
		Replicas:          max(replicas, 1),
		Duplicates:        origin.Duplicates,
		DenyDelete:        origin.DenyDelete,
		DenyPurge:         origin.DenyPurge,
		AllowRollup:       origin.AllowRollup,
		AllowDirect:       origin.AllowDirect,
		AllowMsgTTL:       origin.AllowMsgTTL,
		Compression:       origin.Compression,
		Metadata:          meta,
		Mirror: &jetstream.StreamSource{
			Name: origin.Name, Domain: primary, SubjectTransforms: transforms,
		},
		RePublish: &jetstream.RePublish{
			Source: ">", Destination: notifyPrefix(local, origin.Name) + ".>", HeadersOnly: true,
		},
	}, nil
}

// subjectTransforms maps each origin subject into local's namespace.
func subjectTransforms(subjects []string, primary, local string) ([]jetstream.SubjectTransformConfig, error) {
	if len(subjects) == 0 {
		return nil, fmt.Errorf("origin has no subjects")
	}
	out := make([]jetstream.SubjectTransformConfig, 0, len(subjects))
	for _, s := range subjects {
		d, ok := mapSubject(s, primary, local)
		if !ok {
			return nil, fmt.Errorf("subject %q is outside region %s's namespace", s, primary)
		}
		out = append(out, jetstream.SubjectTransformConfig{Source: s, Destination: d})
	}
	return out, nil
}

// originOf returns the origin stream and region of a mirror, or ok=false
// for a stream that is not a cross-domain mirror.
func originOf(cfg jetstream.StreamConfig) (stream, region string, ok bool) {
	m := cfg.Mirror
	if m == nil || m.External == nil {
		return "", "", false
	}
	region = domainOfAPIPrefix(m.External.APIPrefix)
	return m.Name, region, region != ""
}

// domainOfAPIPrefix extracts <domain> from "$JS.<domain>.API".
func domainOfAPIPrefix(prefix string) string {
	const head, tail = "$JS.", ".API"
	if len(prefix) <= len(head)+len(tail) || prefix[:len(head)] != head || prefix[len(prefix)-len(tail):] != tail {
		return ""
	}
	return prefix[len(head) : len(prefix)-len(tail)]
}

// promotedSubjects are the subjects a promoted mirror listens on: the
// destinations of its transforms, i.e. the origin's subjects in the local
// namespace.
func promotedSubjects(cfg jetstream.StreamConfig) []string {
	if cfg.Mirror == nil {
		return cfg.Subjects
	}
	out := make([]string, 0, len(cfg.Mirror.SubjectTransforms))
	for _, t := range cfg.Mirror.SubjectTransforms {
		out = append(out, t.Destination)
	}
	return out
}
