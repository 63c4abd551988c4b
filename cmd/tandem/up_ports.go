package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// upPort is an address `tandem up` listens on, and what for.
type upPort struct {
	what, network, addr string
}

// upPorts lists the fixed addresses f asks for; ports 0 (any free port)
// are left out, since they cannot be busy.
func upPorts(f upFlags) []upPort {
	ports := []upPort{
		{"the public address (--http)", "tcp", f.http},
		{"the traffic admin address (--admin)", "tcp", f.admin},
		{"the DNS address (--dns)", "udp", f.dns},
		{"the DNS address (--dns)", "tcp", f.dns},
	}
	if f.managers > 1 {
		ports = append(ports,
			upPort{"the second public address (--http2)", "tcp", f.http2},
			upPort{"the second traffic admin address (--admin2)", "tcp", f.admin2},
			upPort{"the second DNS address (--dns2)", "udp", f.dns2},
			upPort{"the second DNS address (--dns2)", "tcp", f.dns2})
	}
	if f.regionPort > 0 {
		for i, name := range regionNames(f.regions) {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(f.regionPort+i))
			ports = append(ports, upPort{"region " + name + " (--region-port)", "tcp", addr})
		}
	}
	var fixed []upPort
	for _, p := range ports {
		if _, port, err := net.SplitHostPort(p.addr); err != nil || port != "0" {
			fixed = append(fixed, p)
		}
	}
	return fixed
}

// checkPortsFree refuses to start when an address `tandem up` needs is
// taken, naming it, before anything starts: a region left running by an
// earlier `tandem up`, or any other program, would otherwise make this one
// fail half-way or serve next to a stranger.
func checkPortsFree(f upFlags) error {
	var errs []error
	for _, p := range upPorts(f) {
		if err := tryBind(p.network, p.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %s, %s, is busy (%w); stop what holds it (another tandem up, or a region left running: `ss -lntup 'sport = :%s'` names it) or pick another port",
				p.network, p.addr, p.what, err, portOf(p.addr)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("tandem up: %w", errors.Join(errs...))
	}
	return nil
}

func tryBind(network, addr string) error {
	if network == "udp" {
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			return err
		}
		return pc.Close()
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return l.Close()
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
