package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// ErrPlaintext means a plaintext listener or connection was asked for on
// an address that is not loopback, without the operator saying so.
var ErrPlaintext = errors.New("plaintext off loopback")

// ServerFiles are the files of a TLS server: its certificate and key, and
// optionally the CA that signs the client certificates it accepts.
type ServerFiles struct {
	Cert, Key string
	// ClientCA, when set, makes the server ask for a client certificate
	// and verify the ones given against it (mutual TLS). Whether a call
	// needs one is the server's decision (see VerifiedPeer).
	ClientCA string
}

// Enabled reports whether any file is set.
func (f ServerFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.ClientCA != "" }

// ServerConfig returns a TLS 1.2+ server configuration on files, its
// certificate reloaded when the files change; nil when no file is set.
func ServerConfig(f ServerFiles) (*tls.Config, error) {
	if !f.Enabled() {
		return nil, nil
	}
	r, err := NewReloader(f.Cert, f.Key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	if f.ClientCA != "" {
		pool, err := LoadPool(f.ClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// ClientFiles say how a client verifies its server and, optionally, which
// certificate it shows.
type ClientFiles struct {
	// CA is the file of the CA certificates the server's certificate must
	// chain to; the system roots when empty.
	CA string
	// Cert and Key are the client certificate for mutual TLS; none when
	// empty.
	Cert, Key string
	// ServerName overrides the name checked in the server's certificate
	// (by default the host of the address dialled).
	ServerName string
}

// ClientConfig returns a TLS 1.2+ client configuration on files.
func ClientConfig(f ClientFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CA != "" {
		pool, err := LoadPool(f.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if f.Cert != "" || f.Key != "" {
		r, err := NewReloader(f.Cert, f.Key)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = r.GetClientCertificate
	}
	return cfg, nil
}

// LoadPool reads a PEM file of CA certificates.
func LoadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// IsLoopback reports whether the host of addr ("host:port", or a bare
// host) is a loopback address or the name localhost. An empty host (every
// interface) is not.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPlaintext refuses a plaintext listener (or connection) on addr
// unless addr is loopback or insecure is set; what names it for the error
// ("--grpc-addr"). The error wraps ErrPlaintext.
func CheckPlaintext(what, addr string, insecure bool) error {
	if insecure || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%s %s: %w: give a TLS certificate, or --insecure to serve without one", what, addr, ErrPlaintext)
}
