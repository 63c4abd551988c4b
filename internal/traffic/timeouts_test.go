package traffic

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/clock"
)

// TestSlowClientsAreClosed: a client that never finishes its request
// headers, on the proxy or the admin API, is disconnected after
// traffic.timeouts.readHeader instead of holding the connection for ever.
func TestSlowClientsAreClosed(t *testing.T) {
	b := startBroker(t)
	east := newRegion(t, b, "east", clock.Real{})
	top := topologyFor(t, setup{extra: "  timeouts: {readHeader: 300ms, idle: 300ms}\n"}, east)
	m := startManager(t, top, t.TempDir(), clock.Real{})
	for name, addr := range map[string]string{"proxy": m.HTTPAddr(), "admin": m.AdminAddr()} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil { // headers never end
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
		start := time.Now()
		_, err = io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatalf("%s: the server did not close a client slow to send its headers: %v", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s: closed after %v", name, d)
		}
	}
}
