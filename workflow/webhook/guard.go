package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrBlocked is what Send returns, wrapped and permanent, when the URL's
// host resolves to an address the guard refuses (loopback, private,
// link-local, metadata, …) and Config does not allow.
var ErrBlocked = errors.New("webhook: address not allowed")

// reserved are the ranges refused besides those netip's predicates name
// (loopback, private, link-local, multicast, unspecified): special-purpose
// IPv4 ranges, the documentation ranges, and the IPv6 forms that carry or
// hide an IPv4 address a relay or a kernel may reach.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791): 0.x reaches the local host on Linux
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1, documentation (RFC 5737)
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast (RFC 7526)
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local IPv6 (RFC 3879)
	netip.MustParsePrefix("::/96"),           // IPv4-compatible IPv6 (deprecated, RFC 4291): ::127.0.0.1
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (RFC 2765): ::ffff:0:127.0.0.1
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/32"),       // Teredo (RFC 4380): its client address is hidden in the bits
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
}

// Prefixes of IPv6 addresses that carry an IPv4 address, which is checked
// in its turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")   // NAT64 well-known prefix (RFC 6052): the last 32 bits
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 (RFC 8215): the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")      // 6to4 (RFC 3056): bits 16–47
)

// refused reports why the guard refuses a (zone-less) address, or "" when
// it is a public one.
func refused(a netip.Addr) string {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case !a.IsValid():
		return "not an IP address"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local (cloud metadata lives at 169.254.169.254)"
	case a.IsMulticast(): // link- and interface-local ones included
		return "multicast"
	case a.IsUnspecified():
		return "unspecified"
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return "reserved (" + p.String() + ")"
		}
	}
	if a.Is6() {
		b := a.As16()
		var v4 [4]byte
		switch {
		case nat64.Contains(a), nat64Loc.Contains(a):
			copy(v4[:], b[12:])
		case sixToFour.Contains(a):
			copy(v4[:], b[2:6])
		default:
			return ""
		}
		if why := refused(netip.AddrFrom4(v4)); why != "" {
			return why + ", embedded in " + a.String()
		}
	}
	return ""
}

// allowed reports whether the guard lets a connection to a through, and
// why not.
func (s *Sender) allowed(a netip.Addr) error {
	a = a.WithZone("")
	if s.cfg.AllowPrivate {
		return nil
	}
	for _, p := range s.cfg.AllowedNetworks {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return nil
		}
	}
	if why := refused(a); why != "" {
		return fmt.Errorf("%w: %s is %s (allow it with Config.AllowedNetworks)", ErrBlocked, a, why)
	}
	return nil
}

// control is the dialer's Control function: it runs after the host name
// is resolved, for the very address about to be connected, so that no
// DNS answer (nor a second, rebinding one) gets around the guard.
func (s *Sender) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an IP address and port", ErrBlocked, network, address)
	}
	return s.allowed(ap.Addr())
}
