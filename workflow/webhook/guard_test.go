package webhook

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"
)

func TestRefused(t *testing.T) {
	t.Parallel()
	refuse := []string{
		"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "0.1.2.3",
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "fc00::1", "fd12:3456::1", "::ffff:10.1.1.1",
		"169.254.169.254", "169.254.0.1", "fe80::1", "::ffff:169.254.169.254", "fd00:ec2::254",
		"100.64.0.1", "100.127.255.254", "192.0.0.170", "198.18.0.1", "240.0.0.1", "255.255.255.255",
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", "fec0::1",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
		// Found by the security review (issue 17): IPv4-compatible and
		// -translated forms, Teredo, discard-only, the documentation ranges.
		"::127.0.0.1", "::8.8.8.8", "::ffff:0:127.0.0.1", "::ffff:0:a00:1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		"100::1", "192.0.2.1", "198.51.100.7", "203.0.113.200", "2001:db8::1", "192.88.99.1",
	}
	allow := []string{
		"93.184.215.14", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.0.1.1", "169.255.0.1",
		"2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range refuse {
		if refused(netip.MustParseAddr(s)) == "" {
			t.Errorf("%s is let through", s)
		}
	}
	for _, s := range allow {
		if why := refused(netip.MustParseAddr(s)); why != "" {
			t.Errorf("%s is refused as %s", s, why)
		}
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	s := New(Config{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128")}})
	for addr, ok := range map[string]bool{
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "::1": true, "fe80::1%eth0": false,
		"10.2.0.1": false, "127.0.0.1": false, "8.8.8.8": true,
	} {
		err := s.allowed(netip.MustParseAddr(addr))
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrBlocked)) {
			t.Errorf("%s: %v, want allowed %v", addr, err, ok)
		}
	}
	if err := s.control("tcp4", "not-an-address", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("control of a name: %v", err)
	}
	if err := New(Config{AllowPrivate: true}).allowed(netip.MustParseAddr("169.254.169.254")); err != nil {
		t.Errorf("AllowPrivate refused the metadata address: %v", err)
	}
}

// TestNoProxy checks that a proxy from the environment is never used: it
// would connect for the Sender, past the dial-time guard.
func TestNoProxy(t *testing.T) {
	t.Parallel()
	tr, ok := New(Config{}).client.Transport.(*http.Transport)
	if !ok || tr.Proxy != nil {
		t.Fatalf("transport %T uses a proxy function", New(Config{}).client.Transport)
	}
	if tr.DialContext == nil {
		t.Fatal("the transport dials without the guarded dialer")
	}
}
