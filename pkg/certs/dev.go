package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names of the files WriteDev writes in its directory.
const (
	CAFile     = "ca.crt"
	CAKeyFile  = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
)

// DevRequest is what WriteDev makes.
type DevRequest struct {
	// Dir is the directory of the files; created when missing.
	Dir string
	// Hosts are the DNS names and IP addresses the server certificate is
	// valid for, besides localhost, 127.0.0.1 and ::1.
	Hosts []string
	// Clients are the names of client certificates to make (NAME.crt and
	// NAME.key, the name as common name and DNS name): one per executor,
	// for mutual TLS.
	Clients []string
	// Validity is how long the server and client certificates are valid;
	// a year when zero.
	Validity time.Duration
	// Now is the start of validity; time.Now when zero.
	Now time.Time
}

// DevFiles are the paths WriteDev wrote.
type DevFiles struct {
	CA, ServerCert, ServerKey string
	// Clients maps each client name to its certificate and key.
	Clients map[string][2]string
}

// WriteDev writes a local CA (ca.crt and ca.key, kept when already there,
// so running it again signs more certificates with the same CA), a server
// certificate for req.Hosts (server.crt, server.key) and the client
// certificates of req.Clients, all ECDSA P-256, keys mode 0600. It is for
// trying RCC out and for tests; production certificates come from the
// operator's own CA or ACME.
func WriteDev(req DevRequest) (DevFiles, error) {
	if req.Dir == "" {
		return DevFiles{}, errors.New("dev certificates: no directory")
	}
	if err := os.MkdirAll(req.Dir, 0o755); err != nil {
		return DevFiles{}, fmt.Errorf("dev certificates: %w", err)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	validity := req.Validity
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	ca, err := loadOrCreateCA(req.Dir, now)
	if err != nil {
		return DevFiles{}, err
	}
	out := DevFiles{CA: filepath.Join(req.Dir, CAFile), ServerCert: filepath.Join(req.Dir, ServerCert),
		ServerKey: filepath.Join(req.Dir, ServerKey), Clients: map[string][2]string{}}
	hosts := slices.Compact(slices.Sorted(slices.Values(append([]string{"localhost", "127.0.0.1", "::1"}, req.Hosts...))))
	tmpl := leafTemplate("rcc server", now, validity, x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if err := ca.sign(tmpl, out.ServerCert, out.ServerKey); err != nil {
		return DevFiles{}, err
	}
	for _, name := range req.Clients {
		if name == "" || filepath.Base(name) != name || name == "ca" || name == "server" {
			return DevFiles{}, fmt.Errorf("dev certificates: client name %q: want a plain name other than ca and server", name)
		}
		tmpl := leafTemplate(name, now, validity, x509.ExtKeyUsageClientAuth)
		tmpl.DNSNames = []string{name}
		cert, key := filepath.Join(req.Dir, name+".crt"), filepath.Join(req.Dir, name+".key")
		if err := ca.sign(tmpl, cert, key); err != nil {
			return DevFiles{}, err
		}
		out.Clients[name] = [2]string{cert, key}
	}
	return out, nil
}

// devCA is a CA certificate with its key.
type devCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func loadOrCreateCA(dir string, now time.Time) (devCA, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return devCA{}, fmt.Errorf("dev CA %s: %w", certPath, err)
		}
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok || !cert.IsCA {
			return devCA{}, fmt.Errorf("dev CA %s: not an ECDSA CA certificate", certPath)
		}
		return devCA{cert: cert, key: key}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return devCA{}, fmt.Errorf("dev CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return devCA{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "rcc dev CA", Organization: []string{"rcc"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return devCA{}, fmt.Errorf("dev CA: %w", err)
	}
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return devCA{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return devCA{}, err
	}
	return devCA{cert: cert, key: key}, nil
}

func leafTemplate(cn string, now time.Time, validity time.Duration, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn, Organization: []string{"rcc"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

// sign makes a new key, signs tmpl for it and writes both.
func (ca devCA) sign(tmpl *x509.Certificate, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", certPath, err)
	}
	return writePair(certPath, keyPath, der, key)
}

// writePair writes a certificate (0644) and its key (0600), each through
// a temporary file renamed into place, so a Reloader never reads half.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	// rand.Int fails only for a max below one, and rand.Reader never
	// fails (the runtime aborts instead).
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
