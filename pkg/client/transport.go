package client

import (
	"crypto/tls"
	"fmt"

	"github.com/rcc-games/rcc/pkg/certs"
)

// SystemRoots as Credentials.CA means TLS verified against the system's
// root certificates.
const SystemRoots = "system"

// TLSConfig is the TLS configuration the CA of c asks for: nil (plain
// TCP) when c.CA is empty.
func (c Credentials) TLSConfig() (*tls.Config, error) {
	switch c.CA {
	case "":
		return nil, nil
	case SystemRoots:
		return certs.ClientConfig(certs.ClientFiles{})
	}
	return certs.ClientConfig(certs.ClientFiles{CA: c.CA})
}

// Target is how to dial c: its addresses and token, over TLS when c.CA
// says so. Without TLS, an address that is not loopback is refused
// (wrapping certs.ErrPlaintext) unless insecure: the token would cross
// the network in the clear.
func (c Credentials) Target(insecure bool) (Target, error) {
	cfg, err := c.TLSConfig()
	if err != nil {
		return Target{}, err
	}
	if cfg == nil && !insecure {
		addrs, err := SplitAddrs(c.Addr)
		if err != nil {
			return Target{}, err
		}
		for _, a := range addrs {
			if !certs.IsLoopback(a) {
				return Target{}, fmt.Errorf("coordinator %s: %w: pass --ca FILE (or --ca %s) for TLS, or --insecure to send the token in the clear", a, certs.ErrPlaintext, SystemRoots)
			}
		}
	}
	return Target{Addr: c.Addr, Token: c.Token, TLS: cfg}, nil
}
