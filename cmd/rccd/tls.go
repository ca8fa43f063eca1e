package main

import (
	"crypto/tls"
	"fmt"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
)

// listenTLS are the TLS flags of a listener that carries tokens or
// tickets (the coordinator's gRPC, the executor's players' endpoint).
type listenTLS struct {
	Cert, Key string
	// ClientCA is the coordinator's CA of executor client certificates.
	ClientCA string
	// Insecure allows a plaintext listener off loopback.
	Insecure bool
}

// addFlags adds --tls-cert, --tls-key and --insecure (what names the
// listener in their help) and, when clientCA, --tls-client-ca.
func (l *listenTLS) addFlags(f *pflag.FlagSet, what string, clientCA bool) {
	f.StringVar(&l.Cert, "tls-cert", "", "PEM certificate (chain) of "+what+"; read again when the file changes")
	f.StringVar(&l.Key, "tls-key", "", "PEM private key of --tls-cert")
	if clientCA {
		f.StringVar(&l.ClientCA, "tls-client-ca", "", "CA of executor client certificates: executors must then show one whose name is theirs (mutual TLS)")
	}
	f.BoolVar(&l.Insecure, "insecure", false, "allow plaintext (no --tls-cert) on an address other than loopback")
}

// check refuses half a pair, and plaintext on a non-loopback addr
// (flag names it) without --insecure.
func (l listenTLS) check(flag, addr string) error {
	if (l.Cert == "") != (l.Key == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if l.ClientCA != "" && l.Cert == "" {
		return fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")
	}
	if l.Cert == "" {
		return certs.CheckPlaintext(flag, addr, l.Insecure)
	}
	return nil
}

// config is the listener's TLS configuration, nil for plaintext.
func (l listenTLS) config() (*tls.Config, error) {
	return certs.ServerConfig(certs.ServerFiles{Cert: l.Cert, Key: l.Key, ClientCA: l.ClientCA})
}

// grpcOptions are the coordinator's gRPC server options for l: TLS
// credentials and, with a client CA, the executor certificate check.
func (l listenTLS) grpcOptions() ([]grpc.ServerOption, error) {
	cfg, err := l.config()
	if err != nil || cfg == nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, nil
}

// coordinatorTLS are an executor's flags for reaching its coordinator.
type coordinatorTLS struct {
	CA, ServerName string
	// SystemRoots verifies the coordinator against the system roots.
	SystemRoots bool
	// Cert and Key are the executor's client certificate.
	Cert, Key string
}

func (c *coordinatorTLS) addFlags(f *pflag.FlagSet) {
	f.StringVar(&c.CA, "coordinator-ca", "", "PEM CA file the coordinator's certificate must chain to (TLS to the coordinator)")
	f.BoolVar(&c.SystemRoots, "coordinator-tls", false, "TLS to the coordinator, verified against the system roots (implied by --coordinator-ca)")
	f.StringVar(&c.ServerName, "coordinator-server-name", "", "name to check in the coordinator's certificate (default: the host of each address)")
	f.StringVar(&c.Cert, "tls-client-cert", "", "PEM client certificate shown to the coordinator (mutual TLS; its name is the executor's)")
	f.StringVar(&c.Key, "tls-client-key", "", "PEM private key of --tls-client-cert")
}

func (c coordinatorTLS) enabled() bool { return c.CA != "" || c.SystemRoots }

// check refuses a client certificate without TLS, half a pair, and a
// plaintext connection to a coordinator off loopback without insecure.
func (c coordinatorTLS) check(addrs string, insecure bool) error {
	if (c.Cert == "") != (c.Key == "") {
		return fmt.Errorf("--tls-client-cert and --tls-client-key go together")
	}
	if c.enabled() {
		return nil
	}
	if c.Cert != "" {
		return fmt.Errorf("--tls-client-cert needs TLS to the coordinator: --coordinator-ca or --coordinator-tls")
	}
	list, err := client.SplitAddrs(addrs)
	if err != nil {
		return fmt.Errorf("--coordinator: %w", err)
	}
	for _, a := range list {
		if err := certs.CheckPlaintext("--coordinator", a, insecure); err != nil {
			return fmt.Errorf("%w (or --coordinator-ca FILE for TLS)", err)
		}
	}
	return nil
}

// config is the TLS configuration to the coordinator, nil for plaintext.
func (c coordinatorTLS) config() (*tls.Config, error) {
	if !c.enabled() {
		return nil, nil
	}
	return certs.ClientConfig(certs.ClientFiles{CA: c.CA, Cert: c.Cert, Key: c.Key, ServerName: c.ServerName})
}
