package replicate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// LeafURL returns the URL other regions put in broker.Options.LeafRemotes
// to link to b's embedded server (which must have a LeafListen address).
func LeafURL(b *broker.Broker) (string, error) {
	s := b.Server()
	if s == nil {
		return "", errors.New("leaf url: external NATS: configure leafnodes on that cluster")
	}
	vz, err := s.Varz(nil)
	if err != nil {
		return "", fmt.Errorf("leaf url: %w", err)
	}
	if vz.LeafNode.Port <= 0 {
		return "", fmt.Errorf("leaf url: region %s has no leafnode listener (LeafListen)", b.Region())
	}
	host := vz.LeafNode.Host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(vz.LeafNode.Port)), nil
}

// Domain returns a JetStream handle on region's domain reached through b's
// connection (over the leafnode link): $JS.<region>.API.
func Domain(b *broker.Broker, region string) (jetstream.JetStream, error) {
	js, err := jetstream.NewWithDomain(b.Conn(), region)
	if err != nil {
		return nil, fmt.Errorf("jetstream domain %s: %w", region, err)
	}
	return js, nil
}

// WaitLinked waits until region's JetStream API answers through b's
// connection, i.e. the leafnode link is up and the domains are distinct.
func WaitLinked(ctx context.Context, b *broker.Broker, region string) error {
	js, err := Domain(b, region)
	if err != nil {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		info, err := js.AccountInfo(actx)
		cancel()
		if err == nil && info.Domain == region {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for link to %s: %w (last error: %v)", region, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
