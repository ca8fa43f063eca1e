package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Reloader serves a certificate and key pair from two files and reads them
// again when either file changes (its modification time or size), checked
// at each TLS handshake, so a renewed certificate is used without a
// restart. A pair that fails to load (a half-written renewal) leaves the
// last good one in use; the next handshake tries again.
type Reloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	lastErr error
}

// fileStamp is what tells a changed file.
type fileStamp struct {
	mod  time.Time
	size int64
}

// NewReloader loads the pair at certFile and keyFile (PEM); a pair that
// does not load is an error naming the files.
func NewReloader(certFile, keyFile string) (*Reloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("a TLS certificate needs both a certificate file and a key file")
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// reload reads the pair when the files changed since the last load.
func (r *Reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, err := stampOf(r.certFile)
	if err != nil {
		return r.fail(fmt.Errorf("TLS certificate: %w", err))
	}
	ks, err := stampOf(r.keyFile)
	if err != nil {
		return r.fail(fmt.Errorf("TLS key: %w", err))
	}
	if r.cert != nil && cs == r.stamp[0] && ks == r.stamp[1] {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return r.fail(fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err))
	}
	if pair.Leaf == nil && len(pair.Certificate) > 0 {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return r.fail(fmt.Errorf("parse TLS certificate %s: %w", r.certFile, err))
		}
	}
	r.cert, r.stamp, r.lastErr = &pair, [2]fileStamp{cs, ks}, nil
	return nil
}

func (r *Reloader) fail(err error) error {
	r.lastErr = err
	return err
}

// Certificate returns the pair in use, loading the files again first when
// they changed.
func (r *Reloader) Certificate() *tls.Certificate {
	_ = r.reload()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert
}

// Err is the error of the last load that failed since the last one that
// worked, nil when the files in use are the ones on disk.
func (r *Reloader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// GetCertificate is a tls.Config.GetCertificate callback.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// GetClientCertificate is a tls.Config.GetClientCertificate callback.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}
