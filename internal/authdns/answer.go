package authdns

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Answer builds the response to req. It is pure apart from the Zone and
// Pick callbacks, so it is what the fuzz target drives.
func (s *Server) Answer(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	if req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return resp.SetRcode(req, dns.RcodeFormatError)
	}
	resp.SetReply(req)
	resp.RecursionAvailable = false
	if o := req.IsEdns0(); o != nil {
		resp.SetEdns0(max(o.UDPSize(), dns.MinMsgSize), false)
	}
	q := req.Question[0]
	name, ttl := s.opts.Zone()
	zone := dns.CanonicalName(name)
	qname := dns.CanonicalName(q.Name)
	switch {
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		resp.Rcode = dns.RcodeRefused
	case qname != zone && dns.IsSubDomain(zone, qname):
		resp.Authoritative = true
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{soa(zone, ttl)}
	case qname != zone:
		resp.Rcode = dns.RcodeRefused
	default:
		resp.Authoritative = true
		s.answerZone(resp, q, zone, ttl)
	}
	return resp
}

// answerZone fills the answer for the profile name itself.
func (s *Server) answerZone(resp *dns.Msg, q dns.Question, zone string, ttl time.Duration) {
	if q.Qtype == dns.TypeSOA {
		resp.Answer = []dns.RR{soa(zone, ttl)}
		return
	}
	target, err := s.opts.Pick()
	if err != nil || !validTarget(target) {
		resp.Rcode = dns.RcodeServerFailure
		return
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: uint32(ttl / time.Second)}
	if rr := record(hdr, q.Qtype, target); rr != nil {
		resp.Answer = []dns.RR{rr}
		return
	}
	resp.Ns = []dns.RR{soa(zone, ttl)} // NODATA: the name exists, not this type
}

// record returns the RR answering qtype with target, or nil for NODATA.
func record(hdr dns.RR_Header, qtype uint16, target string) dns.RR {
	ip := net.ParseIP(target)
	switch {
	case ip == nil:
		hdr.Rrtype = dns.TypeCNAME
		return &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(strings.ToLower(target))}
	case ip.To4() != nil && (qtype == dns.TypeA || qtype == dns.TypeANY):
		hdr.Rrtype = dns.TypeA
		return &dns.A{Hdr: hdr, A: ip.To4()}
	case ip.To4() == nil && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
		hdr.Rrtype = dns.TypeAAAA
		return &dns.AAAA{Hdr: hdr, AAAA: ip}
	default:
		return nil
	}
}

func soa(zone string, ttl time.Duration) dns.RR {
	secs := uint32(ttl / time.Second)
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: secs},
		Ns:      zone,
		Mbox:    "hostmaster." + zone,
		Serial:  1,
		Refresh: 60,
		Retry:   10,
		Expire:  3600,
		Minttl:  secs,
	}
}

// validTarget accepts an IP literal or a DNS name that packs.
func validTarget(target string) bool {
	if net.ParseIP(target) != nil {
		return true
	}
	_, ok := dns.IsDomainName(target)
	return ok && target != "" && len(dns.Fqdn(target)) <= 255 && !strings.ContainsAny(target, " \t\\")
}
