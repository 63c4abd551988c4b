package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the control plane's KV bucket on the control cluster.
const Bucket = "tandem_control"

// Keys of the bucket (see DESIGN.md).
const (
	keyRole    = "role"
	keyDecider = "decider"
	keyManager = "managers."
)

// ErrConflict is a compare-and-set that lost: someone else wrote the key
// since it was read. The caller rereads and decides again.
var ErrConflict = errors.New("control state changed meanwhile")

// StoreOptions configures a Store.
type StoreOptions struct {
	// URLs are the control cluster's client URLs, comma-separated. Only
	// these are dialled (servers the cluster announces are ignored), so
	// list every node.
	URLs  string
	Creds string // optional credentials file
	// Replicas of the bucket when it is created; 0 picks min(3, the
	// number of URLs).
	Replicas int
	// CallTimeout bounds each read or write (default 1s): a manager cut
	// off from the quorum learns it within that and stops deciding.
	CallTimeout time.Duration
	Name        string // connection name, for the servers' monitoring
	// ReadOnly opens the bucket without creating it (regions follow the
	// state; only traffic managers create and write it).
	ReadOnly bool
	Logger   *slog.Logger
}

// Store reads and writes the control state with compare-and-set.
type Store struct {
	opts StoreOptions
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
}

// Open connects to the control cluster and opens (or creates) the bucket.
// It retries until ctx ends, so a cluster that is still electing its
// meta leader is waited for.
func Open(ctx context.Context, opts StoreOptions) (*Store, error) {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{opts: opts}
	if err := s.connect(); err != nil {
		return nil, fmt.Errorf("control open %s: %w", opts.URLs, err)
	}
	if err := s.openBucket(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("control open %s: %w", opts.URLs, err)
	}
	return s, nil
}

func (s *Store) connect() error {
	log := s.opts.Logger
	o := []nats.Option{nats.Name(s.opts.Name), nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.Timeout(connectTimeout), nats.IgnoreDiscoveredServers(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("control cluster disconnected", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("control cluster reconnected", "server", nc.ConnectedUrlRedacted()) })}
	if s.opts.Creds != "" {
		o = append(o, nats.UserCredentials(s.opts.Creds))
	}
	nc, err := nats.Connect(s.opts.URLs, o...)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream: %w", err)
	}
	s.nc, s.js = nc, js
	return nil
}

// connectTimeout bounds dialling one control node (not a call: a loaded
// machine may take longer to dial than a call may take).
const connectTimeout = 2 * time.Second

func (s *Store) openBucket(ctx context.Context) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, max(2*s.opts.CallTimeout, connectTimeout))
		kv, err := s.bucket(cctx)
		if err == nil {
			err = answers(cctx, kv)
		}
		cancel()
		if err == nil {
			s.kv = kv
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("bucket %s: %w (last: %w)", Bucket, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond): // the cluster may still be electing a leader
		}
	}
}

// answers reports whether the bucket serves reads: a bucket just created
// has no stream leader yet, and a read then finds no responders.
func answers(ctx context.Context, kv jetstream.KeyValue) error {
	_, err := kv.Get(ctx, keyRole)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

func (s *Store) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	kv, err := s.js.KeyValue(ctx, Bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) || s.opts.ReadOnly {
		return kv, err
	}
	kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 5,
		Storage: jetstream.FileStorage, Replicas: s.replicas(), Description: "tandem control plane: role, decider, traffic managers"})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return s.js.KeyValue(ctx, Bucket)
	}
	return kv, err
}

func (s *Store) replicas() int {
	if s.opts.Replicas > 0 {
		return s.opts.Replicas
	}
	return min(3, max(1, len(s.nc.Servers())))
}

// Close closes the connection. Safe on a nil or closed Store.
func (s *Store) Close() {
	if s != nil && s.nc != nil {
		s.nc.Close()
	}
}

// Connected reports whether the connection to the control cluster is up.
func (s *Store) Connected() bool { return s.nc != nil && s.nc.IsConnected() }

// Server is the URL of the control node this store is connected to.
func (s *Store) Server() string { return s.nc.ConnectedUrlRedacted() }

func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.CallTimeout)
}

// Role reads the role state and its revision; found is false before the
// first grant.
func (s *Store) Role(ctx context.Context) (r Role, rev uint64, found bool, err error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	e, err := s.kv.Get(ctx, keyRole)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Role{}, 0, false, nil
	}
	if err != nil {
		return Role{}, 0, false, fmt.Errorf("control role get: %w", err)
	}
	r, err = decodeRole(e.Value())
	return r, e.Revision(), err == nil, err
}

// SetRole writes r if the stored revision is still rev (0: only if none is
// stored) and returns the new revision; ErrConflict if it lost.
func (s *Store) SetRole(ctx context.Context, r Role, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("control role set: %w", err)
	}
	next, err := s.cas(ctx, keyRole, b, rev)
	if err != nil {
		return 0, fmt.Errorf("control role set epoch %d: %w", r.Epoch, err)
	}
	return next, nil
}

// cas creates key (rev 0) or updates it at rev.
func (s *Store) cas(ctx context.Context, key string, val []byte, rev uint64) (uint64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var next uint64
	var err error
	if rev == 0 {
		next, err = s.kv.Create(ctx, key, val)
	} else {
		next, err = s.kv.Update(ctx, key, val, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("%w (%v)", ErrConflict, err)
	}
	return next, err
}

// WatchRole delivers every new role state (the current one first) until
// ctx ends. The channel closes when the watch ends.
func (s *Store) WatchRole(ctx context.Context) (<-chan RoleEntry, error) {
	w, err := s.kv.Watch(ctx, keyRole)
	if err != nil {
		return nil, fmt.Errorf("control role watch: %w", err)
	}
	out := make(chan RoleEntry, 1)
	go func() { // ends with ctx or when the watch ends
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case <-ctx.Done():
				return
			case e, ok = <-w.Updates():
			}
			if !ok {
				return
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			r, err := decodeRole(e.Value())
			if err != nil {
				s.opts.Logger.Error("control role watch: undecodable state", "revision", e.Revision(), "err", err)
				continue
			}
			select {
			case out <- RoleEntry{Role: r, Revision: e.Revision()}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// RoleEntry is one role state seen by WatchRole.
type RoleEntry struct {
	Role     Role
	Revision uint64
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidID reports whether id can name a traffic manager.
func ValidID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("traffic manager id %q: use 1-64 letters, digits, '-' or '_'", id)
	}
	return nil
}

// Beat records a traffic manager's heartbeat.
func (s *Store) Beat(ctx context.Context, m Manager) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("control beat: %w", err)
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	if _, err := s.kv.Put(ctx, keyManager+m.ID, b); err != nil {
		return fmt.Errorf("control beat %s: %w", m.ID, err)
	}
	return nil
}

// Managers lists the traffic managers' last heartbeats.
func (s *Store) Managers(ctx context.Context) ([]Manager, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	keys, err := s.kv.ListKeysFiltered(ctx, keyManager+"*")
	if err != nil {
		return nil, fmt.Errorf("control managers: %w", err)
	}
	var out []Manager
	for k := range keys.Keys() {
		e, err := s.kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var m Manager
		if json.Unmarshal(e.Value(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// Health is the control cluster as the bucket's Raft group sees it.
type Health struct {
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"` // the node this manager talks to
	Cluster   string `json:"cluster,omitempty"`
	Leader    string `json:"leader,omitempty"` // the bucket's Raft leader
	Replicas  int    `json:"replicas"`
	Peers     []Peer `json:"peers"`
	Error     string `json:"error,omitempty"`
}

// Peer is one control node holding a copy of the bucket.
type Peer struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline"`
	Leader  bool   `json:"leader,omitempty"`
	Lag     uint64 `json:"lag"`
	Active  string `json:"lastSeen"`
}

// Health reads the bucket's cluster information.
func (s *Store) Health(ctx context.Context) Health {
	h := Health{Connected: s.Connected(), Server: s.Server()}
	ctx, cancel := s.call(ctx)
	defer cancel()
	st, err := s.kv.Status(ctx)
	if err != nil {
		h.Error = err.Error()
		return h
	}
	bs, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok || bs.StreamInfo() == nil {
		return h
	}
	si := bs.StreamInfo()
	h.Replicas = si.Config.Replicas
	if ci := si.Cluster; ci != nil {
		h.Cluster, h.Leader = ci.Name, ci.Leader
		h.Peers = append(h.Peers, Peer{Name: ci.Leader, Current: true, Leader: true})
		for _, p := range ci.Replicas {
			h.Peers = append(h.Peers, Peer{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, Active: p.Active.Round(time.Millisecond).String()})
		}
	}
	return h
}

// String names the cluster in a log line.
func (h Health) String() string {
	var names []string
	for _, p := range h.Peers {
		names = append(names, p.Name)
	}
	return fmt.Sprintf("leader %s, peers %s", h.Leader, strings.Join(names, ","))
}
