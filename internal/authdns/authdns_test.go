package authdns

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func startServer(t *testing.T, target *atomic.Value) *Server {
	t.Helper()
	s := New(Options{
		Zone: func() (string, time.Duration) { return "App.Tandem.Local", 7 * time.Second },
		Pick: func() (string, error) {
			v := target.Load().(string)
			if v == "" {
				return "", errors.New("every endpoint is down")
			}
			return v, nil
		},
	})
	if err := s.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		_ = s.Shutdown(context.Background())
	})
	return s
}

func TestAnswersWithRealClient(t *testing.T) {
	var target atomic.Value
	s := startServer(t, &target)
	cases := []struct {
		name   string
		target string
		qname  string
		qtype  uint16
		net    string
		rcode  int
		want   string // expected answer RR type and value, "" for none
	}{
		{"A for IPv4 endpoint", "127.0.0.2", "app.tandem.local.", dns.TypeA, "udp", dns.RcodeSuccess, "A 127.0.0.2"},
		{"A over TCP", "127.0.0.2", "app.tandem.local.", dns.TypeA, "tcp", dns.RcodeSuccess, "A 127.0.0.2"},
		{"case-insensitive name", "127.0.0.2", "APP.tandem.LOCAL.", dns.TypeA, "udp", dns.RcodeSuccess, "A 127.0.0.2"},
		{"AAAA for IPv6 endpoint", "::1", "app.tandem.local.", dns.TypeAAAA, "udp", dns.RcodeSuccess, "AAAA ::1"},
		{"AAAA for IPv4 endpoint is NODATA", "127.0.0.2", "app.tandem.local.", dns.TypeAAAA, "udp", dns.RcodeSuccess, ""},
		{"CNAME for host endpoint", "East.Example.NET", "app.tandem.local.", dns.TypeA, "udp", dns.RcodeSuccess, "CNAME east.example.net."},
		{"CNAME for AAAA too", "east.example.net", "app.tandem.local.", dns.TypeAAAA, "udp", dns.RcodeSuccess, "CNAME east.example.net."},
		{"SOA", "127.0.0.2", "app.tandem.local.", dns.TypeSOA, "udp", dns.RcodeSuccess, "SOA app.tandem.local."},
		{"below the name is NXDOMAIN", "127.0.0.2", "x.app.tandem.local.", dns.TypeA, "udp", dns.RcodeNameError, ""},
		{"another zone is refused", "127.0.0.2", "example.com.", dns.TypeA, "udp", dns.RcodeRefused, ""},
		{"all down is SERVFAIL", "", "app.tandem.local.", dns.TypeA, "udp", dns.RcodeServerFailure, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target.Store(c.target)
			q := new(dns.Msg)
			q.SetQuestion(c.qname, c.qtype)
			cl := &dns.Client{Net: c.net, Timeout: 2 * time.Second}
			resp, _, err := cl.Exchange(q, s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if resp.Rcode != c.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[c.rcode])
			}
			got := describe(resp.Answer)
			if got != c.want {
				t.Fatalf("answer %q, want %q", got, c.want)
			}
			if len(resp.Answer) == 1 && resp.Answer[0].Header().Ttl != 7 {
				t.Fatalf("ttl %d, want 7", resp.Answer[0].Header().Ttl)
			}
			if c.rcode != dns.RcodeRefused && !resp.Authoritative {
				t.Fatal("answer is not authoritative")
			}
		})
	}
}

func describe(rrs []dns.RR) string {
	if len(rrs) != 1 {
		return ""
	}
	switch rr := rrs[0].(type) {
	case *dns.A:
		return "A " + rr.A.String()
	case *dns.AAAA:
		return "AAAA " + rr.AAAA.String()
	case *dns.CNAME:
		return "CNAME " + rr.Target
	case *dns.SOA:
		return "SOA " + rr.Ns
	}
	return rrs[0].String()
}

func FuzzAnswer(f *testing.F) {
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeSOA, dns.TypeMX} {
		q := new(dns.Msg)
		q.SetQuestion("app.tandem.local.", qt)
		q.SetEdns0(4096, false)
		b, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "127.0.0.1")
		f.Add(b, "east.example.net")
	}
	f.Fuzz(func(t *testing.T, raw []byte, target string) {
		req := new(dns.Msg)
		if req.Unpack(raw) != nil {
			return
		}
		s := New(Options{
			Zone: func() (string, time.Duration) { return "app.tandem.local", 5 * time.Second },
			Pick: func() (string, error) { return target, nil },
		})
		resp := s.Answer(req)
		if resp.Id != req.Id {
			t.Fatalf("id %d for request %d", resp.Id, req.Id)
		}
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("answer to %v with target %q does not pack: %v", req.Question, target, err)
		}
	})
}
