package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// connListener is a net.Listener fed with connections another accept
// loop took (the Frontend's dispatch).
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the server accepting on l; once l is closed it closes c
// and reports false.
func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		_ = c.Close()
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// replayConn is a connection whose first bytes were already read: pre,
// then body (when set), then the connection.
type replayConn struct {
	net.Conn
	pre  []byte
	body io.Reader
}

func (c *replayConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	if c.body != nil {
		n, err := c.body.Read(b)
		if err != nil {
			c.body = nil
			if n > 0 || errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		return n, nil
	}
	return c.Conn.Read(b)
}
