package agent

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fetcher downloads content-addressed bytes from the coordinator.
type fetcher interface {
	FetchBlob(ctx context.Context, sha string) ([]byte, error)
}

// blobCache keeps modules and assets archives on disk by sha256:
// DIR/blobs/SHA, checked against their name every time they are read.
type blobCache struct {
	dir   string
	fetch fetcher
	retry backoff

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func newBlobCache(dir string, f fetcher, retry backoff) (*blobCache, error) {
	for _, d := range []string{filepath.Join(dir, "blobs"), filepath.Join(dir, "assets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("module cache: %w", err)
		}
	}
	return &blobCache{dir: dir, fetch: f, retry: retry, locks: map[string]*sync.Mutex{}}, nil
}

func validSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	_, err := hex.DecodeString(sha)
	return err == nil && strings.ToLower(sha) == sha
}

func (c *blobCache) lock(sha string) func() {
	c.mu.Lock()
	l := c.locks[sha]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[sha] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// get returns the bytes of sha from the disk, or fetches and stores them.
// Fetching is retried with backoff until ctx ends or fetchAttempts fail.
func (c *blobCache) get(ctx context.Context, sha string) ([]byte, error) {
	if !validSHA(sha) {
		return nil, fmt.Errorf("blob %q: not a sha256 in hex", sha)
	}
	unlock := c.lock(sha)
	defer unlock()
	p := filepath.Join(c.dir, "blobs", sha)
	if b, err := os.ReadFile(p); err == nil {
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) == sha {
			return b, nil
		}
		_ = os.Remove(p) // corrupt: fetch it again
	}
	var b []byte
	var err error
	delay := c.retry.min
	for attempt := 1; ; attempt++ {
		b, err = c.fetch.FetchBlob(ctx, sha)
		if err == nil || attempt == fetchAttempts || ctx.Err() != nil || permanent(err) || status.Code(err) == codes.NotFound {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = c.retry.next(delay)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s: %w", sha, err)
	}
	if err := writeFileAtomic(p, b); err != nil {
		return nil, fmt.Errorf("cache blob %s: %w", sha, err)
	}
	return b, nil
}

const fetchAttempts = 8

func writeFileAtomic(p string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// assets returns the assets archive sha as a read-only file system: a zip
// archive is read in place; a tar archive (optionally gzipped) is unpacked
// once into DIR/assets/SHA.
func (c *blobCache) assets(ctx context.Context, sha string) (fs.FS, error) {
	b, err := c.get(ctx, sha)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")) {
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, fmt.Errorf("assets %s: %w", sha, err)
		}
		return z, nil
	}
	unlock := c.lock("assets/" + sha)
	defer unlock()
	dir := filepath.Join(c.dir, "assets", sha)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return os.DirFS(filepath.Join(dir, "root")), nil
	}
	_ = os.RemoveAll(dir)
	if err := untar(b, filepath.Join(dir, "root")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("assets %s: %w", sha, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
		return nil, fmt.Errorf("assets %s: %w", sha, err)
	}
	return os.DirFS(filepath.Join(dir, "root")), nil
}

// untar unpacks a tar or tar.gz archive of regular files and directories
// into dir, refusing paths that leave it.
func untar(b []byte, dir string) error {
	var r io.Reader = bytes.NewReader(b)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a zip, tar or tar.gz archive: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." {
			continue
		}
		if !fs.ValidPath(name) {
			return fmt.Errorf("archive entry %q leaves the assets directory", h.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			// Links and devices are left out: the sandbox gets plain files.
		}
	}
}
