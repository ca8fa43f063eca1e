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
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/flight"
)

// fetcher downloads content-addressed bytes from the coordinator.
type fetcher interface {
	FetchBlob(ctx context.Context, sha string) ([]byte, error)
}

// DefaultBlobCacheBytes bounds the executor's module and assets cache on
// disk (Config.BlobCacheBytes).
const DefaultBlobCacheBytes = 4 << 30

// blobCache keeps modules and assets archives on disk by sha256:
// DIR/blobs/SHA, checked against their name every time they are read, and
// tar archives unpacked in DIR/assets/SHA. A blob is downloaded once
// however many starts want it at once. Past limit bytes (blobs and
// unpacked assets together) the least recently used blobs that no instance
// uses are removed; a file's modification time is its last use.
type blobCache struct {
	dir   string
	fetch fetcher
	retry backoff
	limit int64 // negative: no bound
	// inUse returns the blobs that starting or running instances use;
	// nil: none.
	inUse func() map[string]bool
	log   *slog.Logger

	fetches   flight.Group[string, []byte]
	unpacks   flight.Group[string, string]
	pruneMu   sync.Mutex
	downloads atomic.Uint64 // blobs downloaded
	evictions atomic.Uint64 // blobs removed to keep within limit
}

func newBlobCache(dir string, f fetcher, retry backoff) (*blobCache, error) {
	for _, d := range []string{filepath.Join(dir, "blobs"), filepath.Join(dir, "assets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("module cache: %w", err)
		}
	}
	return &blobCache{dir: dir, fetch: f, retry: retry, limit: DefaultBlobCacheBytes, log: slog.New(slog.DiscardHandler)}, nil
}

func validSHA(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	_, err := hex.DecodeString(sha)
	return err == nil && strings.ToLower(sha) == sha
}

// get returns the bytes of sha from the disk, or fetches and stores them.
// Fetching is retried with backoff until ctx ends or fetchAttempts fail;
// concurrent gets of one sha share one download, which goes on while any
// of them waits for it.
func (c *blobCache) get(ctx context.Context, sha string) ([]byte, error) {
	if !validSHA(sha) {
		return nil, fmt.Errorf("blob %q: not a sha256 in hex", sha)
	}
	if b := c.read(sha); b != nil {
		return b, nil
	}
	b, _, err := c.fetches.Do(ctx, sha, func(ctx context.Context) ([]byte, error) {
		if b := c.read(sha); b != nil { // a download ended just before this one
			return b, nil
		}
		return c.download(ctx, sha)
	})
	return b, err
}

// read returns the bytes of sha from the disk and marks them used, or nil.
func (c *blobCache) read(sha string) []byte {
	p := filepath.Join(c.dir, "blobs", sha)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != sha {
		_ = os.Remove(p) // corrupt: fetch it again
		return nil
	}
	touch(p)
	return b
}

// touch records a use of the file at p as its modification time.
func touch(p string) {
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// download fetches sha, stores it and keeps the cache within its bound.
func (c *blobCache) download(ctx context.Context, sha string) ([]byte, error) {
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
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != sha {
		return nil, fmt.Errorf("fetch blob %s: the coordinator sent bytes of sha256 %x", sha, sum)
	}
	c.downloads.Add(1)
	if err := writeFileAtomic(filepath.Join(c.dir, "blobs", sha), b); err != nil {
		return nil, fmt.Errorf("cache blob %s: %w", sha, err)
	}
	c.prune()
	return b, nil
}

// cacheEntry is one sha on disk: its blob and unpacked assets.
type cacheEntry struct {
	sha  string
	size int64
	last time.Time
}

// entries lists what the cache holds on disk, and its total size.
func (c *blobCache) entries() ([]*cacheEntry, int64) {
	bySHA := map[string]*cacheEntry{}
	entry := func(sha string) *cacheEntry {
		e := bySHA[sha]
		if e == nil {
			e = &cacheEntry{sha: sha}
			bySHA[sha] = e
		}
		return e
	}
	var total int64
	if files, err := os.ReadDir(filepath.Join(c.dir, "blobs")); err == nil {
		for _, f := range files {
			info, err := f.Info()
			if err != nil || !validSHA(f.Name()) || !info.Mode().IsRegular() {
				continue // .tmp-* files being written
			}
			e := entry(f.Name())
			e.size += info.Size()
			e.last = latest(e.last, info.ModTime())
			total += info.Size()
		}
	}
	if dirs, err := os.ReadDir(filepath.Join(c.dir, "assets")); err == nil {
		for _, d := range dirs {
			if !validSHA(d.Name()) {
				continue
			}
			e := entry(d.Name())
			root := filepath.Join(c.dir, "assets", d.Name())
			_ = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if info, err := de.Info(); err == nil {
					if de.Type().IsRegular() {
						e.size += info.Size()
						total += info.Size()
					}
					if p == filepath.Join(root, ".complete") {
						e.last = latest(e.last, info.ModTime())
					}
				}
				return nil
			})
		}
	}
	out := make([]*cacheEntry, 0, len(bySHA))
	for _, e := range bySHA {
		out = append(out, e)
	}
	return out, total
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// prune removes the least recently used blobs that no instance uses until
// the cache is within its bound.
func (c *blobCache) prune() {
	if c.limit < 0 {
		return
	}
	c.pruneMu.Lock()
	defer c.pruneMu.Unlock()
	entries, total := c.entries()
	if total <= c.limit {
		return
	}
	var used map[string]bool
	if c.inUse != nil {
		used = c.inUse()
	}
	slices.SortFunc(entries, func(a, b *cacheEntry) int { return a.last.Compare(b.last) })
	for _, e := range entries {
		if total <= c.limit {
			return
		}
		if used[e.sha] {
			continue
		}
		_ = os.Remove(filepath.Join(c.dir, "blobs", e.sha))
		_ = os.RemoveAll(filepath.Join(c.dir, "assets", e.sha))
		total -= e.size
		c.evictions.Add(1)
		c.log.Info("blob evicted from the cache", "sha256", e.sha, "bytes", e.size, "cache_bytes", total, "limit", c.limit)
	}
	if total <= c.limit {
		return
	}
	c.log.Warn("blob cache over its bound: what remains is in use", "cache_bytes", total, "limit", c.limit)
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
	root, _, err := c.unpacks.Do(ctx, sha, func(context.Context) (string, error) { return c.unpack(sha, b) })
	if err != nil {
		return nil, err
	}
	return os.DirFS(root), nil
}

// unpack unpacks the tar archive b of sha into DIR/assets/SHA once, and
// returns the directory of its files.
func (c *blobCache) unpack(sha string, b []byte) (string, error) {
	dir := filepath.Join(c.dir, "assets", sha)
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		touch(done)
		return filepath.Join(dir, "root"), nil
	}
	_ = os.RemoveAll(dir)
	if err := untar(b, filepath.Join(dir, "root")); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("assets %s: %w", sha, err)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", fmt.Errorf("assets %s: %w", sha, err)
	}
	c.prune()
	return filepath.Join(dir, "root"), nil
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
