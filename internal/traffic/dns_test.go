package traffic

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tandemhq/tandem/internal/clock"
)

func TestDNSAnswersFollowRouting(t *testing.T) {
	b := startBroker(t)
	east, west := newRegion(t, b, "east", clock.Real{}), newRegion(t, b, "west", clock.Real{})
	// east by IP address (A record), west by host name (CNAME).
	s := setup{dns: true, lease: "1m", margin: "1s", proxyURLs: []string{"", "http://localhost:" + port(west.addr)}}
	m := startManager(t, topologyFor(t, s, east, west), t.TempDir(), clock.Real{})
	eventually(t, 5*time.Second, "ready", m.Ready)
	ask := func(qtype uint16) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion("app.tandem.local.", qtype)
		resp, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, m.DNSAddr())
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := ask(dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "127.0.0.1" || r.Answer[0].Header().Ttl != 3 {
		t.Fatalf("A while east is up: %v", r)
	}
	east.healthy.Store(false)
	eventually(t, 5*time.Second, "east down", func() bool { return !m.endpointHealth("east").Up })
	if r := ask(dns.TypeA); len(r.Answer) != 1 || r.Answer[0].(*dns.CNAME).Target != "localhost." {
		t.Fatalf("A while only west is up: %v", r)
	}
	west.healthy.Store(false)
	eventually(t, 5*time.Second, "west down", func() bool { return !m.endpointHealth("west").Up })
	if r := ask(dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("all down: %v", r)
	}
}

func port(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[i+1:]
		}
	}
	return addr
}
