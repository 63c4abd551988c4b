// Package faultnet is a TCP link that can be cut and healed: the fault
// injector behind partition drills and tests. Everything that reaches a
// region from outside (the traffic manager's proxy and probes, other
// regions' leafnodes) goes through one Link per path, so cutting it is a
// network partition as that peer sees it, without root or netns.
package faultnet

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Link forwards connections from its listener to a target address.
type Link struct {
	target string
	ln     net.Listener
	log    *slog.Logger

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}

	wg   sync.WaitGroup
	once sync.Once
}

// Listen opens a link on addr ("127.0.0.1:0" for any port) to target.
func Listen(addr, target string, log *slog.Logger) (*Link, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultnet listen %s: %w", addr, err)
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Link{target: target, ln: ln, log: log, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// SetTarget points new connections at another address.
func (l *Link) SetTarget(target string) {
	l.mu.Lock()
	l.target = target
	l.mu.Unlock()
}

// Addr is the link's listening address.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Cut drops every open connection and refuses new ones (they are accepted
// and closed at once, as a dead network would reset them).
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

// Heal lets connections through again.
func (l *Link) Heal() {
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
}

// IsCut reports whether the link is cut.
func (l *Link) IsCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// Close stops the link. Safe to call more than once.
func (l *Link) Close() error {
	l.once.Do(func() {
		_ = l.ln.Close()
		l.Cut()
		l.wg.Wait()
	})
	return nil
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.log.Warn("faultnet accept", "err", err)
			}
			return
		}
		if !l.track(c) {
			_ = c.Close()
			continue
		}
		l.wg.Add(1)
		go l.pipe(c)
	}
}

func (l *Link) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Link) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	_ = c.Close()
}

func (l *Link) pipe(in net.Conn) {
	defer l.wg.Done()
	defer l.untrack(in)
	l.mu.Lock()
	target := l.target
	l.mu.Unlock()
	out, err := net.Dial("tcp", target)
	if err != nil {
		return // the target is down: the caller sees a reset, as it would directly
	}
	if !l.track(out) {
		_ = out.Close()
		return
	}
	defer l.untrack(out)
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go copyHalf(out, in)
	go copyHalf(in, out)
	<-done
	<-done
}
