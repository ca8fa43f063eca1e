package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/certs"
)

// handshake serves one TLS connection with srv on loopback, dials it
// with cli and returns the server's leaf certificate as the client saw
// it, or the client's handshake error.
func handshake(t *testing.T, srv, cli *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	lis, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*tls.Conn).Handshake()
		_, _ = io.Copy(io.Discard, c)
	}()
	cli = cli.Clone()
	if cli.ServerName == "" {
		cli.ServerName = "localhost"
	}
	conn, err := tls.Dial("tcp", lis.Addr().String(), cli)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestDevCertificatesVerify(t *testing.T) {
	dir := t.TempDir()
	files, err := certs.WriteDev(certs.DevRequest{Dir: dir, Hosts: []string{"coord-1.internal", "10.77.0.2"}, Clients: []string{"ex-1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.ServerConfig(certs.ServerFiles{Cert: files.ServerCert, Key: files.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "coord-1.internal", "10.77.0.2", "127.0.0.1"} {
		t.Run("name "+name, func(t *testing.T) {
			cli, err := certs.ClientConfig(certs.ClientFiles{CA: files.CA, ServerName: name})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := handshake(t, srv, cli); err != nil {
				t.Fatalf("handshake as %s: %v", name, err)
			}
		})
	}
	t.Run("a name the certificate lacks", func(t *testing.T) {
		cli, _ := certs.ClientConfig(certs.ClientFiles{CA: files.CA, ServerName: "elsewhere.example"})
		_, err := handshake(t, srv, cli)
		var he x509.HostnameError
		if !errors.As(err, &he) {
			t.Fatalf("handshake error %v, want a host name error", err)
		}
	})
	t.Run("another CA", func(t *testing.T) {
		other, err := certs.WriteDev(certs.DevRequest{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		cli, _ := certs.ClientConfig(certs.ClientFiles{CA: other.CA})
		_, err = handshake(t, srv, cli)
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) {
			t.Fatalf("handshake error %v, want an unknown authority", err)
		}
	})
	t.Run("system roots do not know the dev CA", func(t *testing.T) {
		cli, _ := certs.ClientConfig(certs.ClientFiles{})
		if _, err := handshake(t, srv, cli); err == nil {
			t.Fatal("a dev certificate verified against the system roots")
		}
	})
	t.Run("the CA is kept when run again", func(t *testing.T) {
		before, _ := os.ReadFile(files.CA)
		again, err := certs.WriteDev(certs.DevRequest{Dir: dir, Hosts: []string{"coord-2.internal"}})
		if err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(again.CA)
		if string(before) != string(after) {
			t.Fatal("running again replaced the CA")
		}
		srv2, _ := certs.ServerConfig(certs.ServerFiles{Cert: again.ServerCert, Key: again.ServerKey})
		cli, _ := certs.ClientConfig(certs.ClientFiles{CA: files.CA, ServerName: "coord-2.internal"})
		if _, err := handshake(t, srv2, cli); err != nil {
			t.Fatalf("the new server certificate does not verify with the old CA: %v", err)
		}
	})
	if fi, err := os.Stat(files.ServerKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("server key mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	files, err := certs.WriteDev(certs.DevRequest{Dir: dir, Clients: []string{"ex-1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := certs.ServerConfig(certs.ServerFiles{Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.CA})
	if err != nil {
		t.Fatal(err)
	}
	if srv.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Fatalf("client auth %v: the server decides per call which need a certificate", srv.ClientAuth)
	}
	seen := make(chan []string, 1)
	srv.VerifyConnection = func(cs tls.ConnectionState) error {
		var names []string
		for _, c := range cs.PeerCertificates {
			names = append(names, c.Subject.CommonName)
		}
		seen <- names
		return nil
	}
	cli, err := certs.ClientConfig(certs.ClientFiles{CA: files.CA, Cert: files.Clients["ex-1"][0], Key: files.Clients["ex-1"][1]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, srv, cli); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; len(got) != 1 || got[0] != "ex-1" {
		t.Fatalf("server saw client certificates %v, want ex-1", got)
	}
}

// TestReloadOnChange replaces the server's files while it serves: the
// next handshake shows the new certificate, and a broken pair keeps the
// last good one in use.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	files, err := certs.WriteDev(certs.DevRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewReloader(files.ServerCert, files.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{GetCertificate: r.GetCertificate}
	cli, _ := certs.ClientConfig(certs.ClientFiles{CA: files.CA})
	first, err := handshake(t, srv, cli)
	if err != nil {
		t.Fatal(err)
	}
	// A renewal: new files in place (WriteDev renames them in).
	if _, err := certs.WriteDev(certs.DevRequest{Dir: dir, Hosts: []string{"renewed.internal"}, Now: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	second, err := handshake(t, srv, cli)
	if err != nil {
		t.Fatal(err)
	}
	if first.SerialNumber.Cmp(second.SerialNumber) == 0 || !strings.Contains(strings.Join(second.DNSNames, ","), "renewed.internal") {
		t.Fatalf("after the renewal the server shows %v (serial %v), want the new certificate", second.DNSNames, second.SerialNumber)
	}
	// A half-written renewal: the key no longer matches.
	if err := os.WriteFile(files.ServerKey, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	third, err := handshake(t, srv, cli)
	if err != nil {
		t.Fatalf("a broken key file stopped the server: %v", err)
	}
	if third.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatal("a broken pair replaced the good one")
	}
	if r.Err() == nil || !strings.Contains(r.Err().Error(), files.ServerKey) {
		t.Fatalf("Err() = %v, want the failed load naming the key file", r.Err())
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"certificate without key", func() error { _, err := certs.ServerConfig(certs.ServerFiles{Cert: notPEM}); return err }, "both a certificate file and a key file"},
		{"missing certificate", func() error { _, err := certs.NewReloader(filepath.Join(dir, "none.crt"), notPEM); return err }, "none.crt"},
		{"not a pair", func() error { _, err := certs.NewReloader(notPEM, notPEM); return err }, "load TLS certificate"},
		{"CA not PEM", func() error { _, err := certs.ClientConfig(certs.ClientFiles{CA: notPEM}); return err }, "no PEM certificate"},
		{"CA missing", func() error { _, err := certs.LoadPool(filepath.Join(dir, "none.pem")); return err }, "read CA file"},
		{"client name a path", func() error {
			_, err := certs.WriteDev(certs.DevRequest{Dir: dir, Clients: []string{"../x"}})
			return err
		}, "client name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckPlaintext(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:7400", false, true},
		{"[::1]:7400", false, true},
		{"localhost:7400", false, true},
		{"127.0.0.5:7400", false, true},
		{":7400", false, false},
		{"0.0.0.0:7400", false, false},
		{"10.0.0.5:7400", false, false},
		{"coord.example:7400", false, false},
		{"10.0.0.5:7400", true, true},
	} {
		err := certs.CheckPlaintext("--grpc-addr", tc.addr, tc.insecure)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, certs.ErrPlaintext) {
			t.Errorf("CheckPlaintext(%q, insecure=%v) = %v, want ok=%v", tc.addr, tc.insecure, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--insecure") {
			t.Errorf("error %q does not say how to allow it", err)
		}
	}
}
