package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Name returns the name of a stream or KV bucket in this region's namespace:
// "<region>_<kind>_<part>_<part>...". Parts must not contain '_' except the
// last (app, queue and table names never do; see funcapp.ValidAppName).
func (b *Broker) Name(kind string, parts ...string) string {
	return Name(b.opts.Region, kind, parts...)
}

// Name is Broker.Name for a region other than the broker's own (mirrors).
func Name(region, kind string, parts ...string) string {
	return strings.Join(append([]string{region, kind}, parts...), "_")
}

// Subject returns a subject in this region's namespace:
// "tandem.<region>.<kind>.<part>.<part>...".
func (b *Broker) Subject(kind string, parts ...string) string {
	return Subject(b.opts.Region, kind, parts...)
}

// Subject is Broker.Subject for a named region.
func Subject(region, kind string, parts ...string) string {
	return strings.Join(append([]string{"tandem", region, kind}, parts...), ".")
}

func (b *Broker) leafOptions(so *server.Options) error {
	if b.opts.LeafListen != "" {
		host, port, err := splitHostPort(b.opts.LeafListen)
		if err != nil {
			return fmt.Errorf("leaf listen %q: %w", b.opts.LeafListen, err)
		}
		so.LeafNode.Host, so.LeafNode.Port = host, port
		// A region's links to other regions are exactly the URLs the
		// topology gives (--leaf-remote): a proxy, a NAT address, the
		// drills' fault links. Advertised, the listener's own address
		// would join every remote's URL list, and a link cut on its
		// configured path would reconnect around it within a second.
		so.LeafNode.NoAdvertise = true
	}
	for _, raw := range b.opts.LeafRemotes {
		urls, err := leafURLs(raw)
		if err != nil {
			return fmt.Errorf("leaf remote %q: %w", raw, err)
		}
		so.LeafNode.Remotes = append(so.LeafNode.Remotes, &server.RemoteLeafOpts{URLs: urls})
	}
	return nil
}

// leafURLs parses one leafnode remote: a URL, or several separated by
// commas for a remote served by a cluster (the control cluster as the
// regions' hub), of which the link uses one at a time.
func leafURLs(raw string) ([]*url.URL, error) {
	var urls []*url.URL
	for part := range strings.SplitSeq(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		if u.Host == "" {
			return nil, fmt.Errorf("%q has no host:port", part)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port == 0 {
		port = -1 // nats-server: pick a free port
	}
	return host, port, nil
}

// OpenKV opens a KV bucket, creating it with cfg when it does not exist
// (another node creating it at the same moment is fine).
func OpenKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}
