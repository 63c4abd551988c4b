package proxy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestServerClosesSlowClients: the front end (the Frontend, both engines,
// and the net/http server it hands connections to) closes a client that
// never finishes its request body (it used to wait for ever: no read
// timeout), and its defaults have every timeout set.
func TestServerClosesSlowClients(t *testing.T) {
	d := DefaultServerTimeouts
	if d.ReadHeader <= 0 || d.Read <= 0 || d.Write <= 0 || d.Idle <= 0 {
		t.Fatalf("default timeouts %+v: every one must be set", d)
	}
	to := ServerTimeouts{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: time.Second, Idle: 300 * time.Millisecond}
	srv := NewServerTimeouts(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}), to)
	up := newBackend(t, "only", "ok")
	px := New(Options{Picker: targets(t, time.Second, up.srv.URL), MaxBodyBytes: 1024})
	fe := NewFrontend(func() *Proxy { return px }, to, nil)
	for name, s := range map[string]interface {
		Serve(net.Listener) error
		Close() error
	}{"net/http": srv, "frontend": fe} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Serve(l) }()
		t.Cleanup(func() { _ = s.Close() })
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nslow")
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: the server kept a slow client's connection open", name)
		}
	}
}
