package host

import (
	"net"
	"testing"
	"time"
)

// peerClosed tells an idle connection the other end closed from one still
// open, without reading from it.
func TestPeerClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := <-accepted
	if peerClosed(c) {
		t.Fatal("an open idle connection was taken for closed")
	}
	if peerClosed(c) {
		t.Fatal("peeking changed the connection")
	}
	server.Close()
	for deadline := time.Now().Add(5 * time.Second); !peerClosed(c); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the other end closed was still taken for open after 5 s")
		}
	}
}
