// Package authdns is the traffic manager's authoritative DNS answerer. It
// exists for clients that cannot go through the L7 proxy: they resolve the
// profile name and get the endpoint the routing method picks right now (A
// or AAAA for an IP endpoint, CNAME for a host name) with the profile's
// TTL, so DNS-based failover is bounded by probes plus that TTL. When every
// endpoint is down it answers SERVFAIL rather than guessing.
package authdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Options configures a Server. Zone and Pick are called per query, so a
// configuration reload applies to the next answer.
type Options struct {
	// Zone returns the profile name and the TTL of answers.
	Zone func() (name string, ttl time.Duration)
	// Pick returns the chosen endpoint's host (IP literal or DNS name), or
	// an error when no endpoint is healthy.
	Pick func() (string, error)
	// Observe, when set, is told the response code of every answer.
	Observe func(rcode string)
	Logger  *slog.Logger
}

// Server serves UDP and TCP on one address.
type Server struct {
	opts    Options
	udp     *dns.Server
	tcp     *dns.Server
	addr    string
	ready   atomic.Bool
	wg      sync.WaitGroup
	stopped sync.Once
}

// New returns a Server; Start binds it.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts}
}

// Start listens on addr (UDP, then TCP on the same port) and serves.
func (s *Server) Start(ctx context.Context, addr string) error {
	pc, l, err := listenBoth(addr)
	if err != nil {
		return fmt.Errorf("dns start: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := s.serveOne(ctx, srv); err != nil {
			_ = s.Shutdown(context.Background())
			return fmt.Errorf("dns start: %w", err)
		}
	}
	s.ready.Store(true)
	return nil
}

func (s *Server) serveOne(ctx context.Context, srv *dns.Server) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	errc := make(chan error, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.ActivateAndServe(); err != nil {
			errc <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// listenBoth binds UDP at addr and TCP at the same port; with port 0 it
// retries a few times in case TCP finds the port taken.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for i := 0; i < 5; i++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		_ = pc.Close()
		lastErr = err
		if !strings.HasSuffix(addr, ":0") {
			break
		}
	}
	return nil, nil, lastErr
}

// Addr is the bound address (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// Ready reports whether both listeners serve.
func (s *Server) Ready() bool { return s.ready.Load() }

// Shutdown stops both listeners. Safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.stopped.Do(func() {
		s.ready.Store(false)
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			if srv == nil {
				continue
			}
			if err := srv.ShutdownContext(ctx); err != nil && !strings.Contains(err.Error(), "not started") {
				errs = append(errs, err)
			}
		}
		s.wg.Wait()
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dns shutdown: %w", err)
	}
	return nil
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	resp := s.Answer(req)
	if s.opts.Observe != nil {
		s.opts.Observe(dns.RcodeToString[resp.Rcode])
	}
	if err := w.WriteMsg(resp); err != nil {
		s.opts.Logger.Debug("dns write", "err", err)
	}
}
