package coordinator

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Bounds of an assets archive, checked at deploy.
const (
	// DefaultMaxAssetsUnpackedBytes bounds the files of an assets archive
	// together, unpacked (Config.MaxAssetsUnpackedBytes).
	DefaultMaxAssetsUnpackedBytes = 1 << 30
	// MaxAssetsEntries bounds the entries of an assets archive.
	MaxAssetsEntries = 100_000
	// sniffBytes is how much of an upload's assets is read before its
	// format is known: a tar header's magic ends at byte 262.
	sniffBytes = 512
)

// errNotArchive is the refusal of assets that are not an archive.
var errNotArchive = errors.New("not a zip, tar or tar.gz archive")

// archiveKind names the format of an assets archive from its first bytes
// (at least sniffBytes of them, or the whole archive when shorter).
func archiveKind(head []byte) (string, error) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "zip", nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "tar.gz", nil
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "tar", nil
	}
	return "", errNotArchive
}

// assetsSpool receives an upload's assets in a temporary file, hashing
// them, so that they are never held whole in memory; their format is
// checked as soon as their first sniffBytes have arrived.
type assetsSpool struct {
	f    *os.File
	sum  hash.Hash
	size int64
	head []byte
	kind string
}

func newAssetsSpool(dir string) (*assetsSpool, error) {
	f, err := os.CreateTemp(dir, "rcc-assets-*")
	if err != nil {
		return nil, fmt.Errorf("spool assets: %w", err)
	}
	return &assetsSpool{f: f, sum: sha256.New()}, nil
}

// write appends a chunk; it fails once the first bytes show that the
// assets are not an archive.
func (s *assetsSpool) write(p []byte) error {
	if s.kind == "" && len(s.head) < sniffBytes {
		s.head = append(s.head, p[:min(len(p), sniffBytes-len(s.head))]...)
		if len(s.head) >= sniffBytes {
			kind, err := archiveKind(s.head)
			if err != nil {
				return err
			}
			s.kind = kind
		}
	}
	if _, err := s.f.Write(p); err != nil {
		return fmt.Errorf("spool assets: %w", err)
	}
	s.sum.Write(p)
	s.size += int64(len(p))
	return nil
}

// finish checks the whole archive: its format, that it reads to the end,
// its entries' names, count and unpacked size; it returns the sha256.
func (s *assetsSpool) finish(maxUnpacked int64) (string, error) {
	if s.kind == "" {
		kind, err := archiveKind(s.head)
		if err != nil {
			return "", err
		}
		s.kind = kind
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("spool assets: %w", err)
	}
	var err error
	if s.kind == "zip" {
		err = checkZip(s.f, s.size, maxUnpacked)
	} else {
		err = checkTar(s.f, s.kind == "tar.gz", maxUnpacked)
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(s.sum.Sum(nil)), nil
}

// reader reads the spooled assets from their start.
func (s *assetsSpool) reader() (io.Reader, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool assets: %w", err)
	}
	return s.f, nil
}

// close removes the temporary file.
func (s *assetsSpool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// checkEntry counts one archive entry against the bounds.
func checkEntry(name string, size int64, entries *int, total *int64, maxUnpacked int64) error {
	*entries++
	if *entries > MaxAssetsEntries {
		return fmt.Errorf("more than %d entries", MaxAssetsEntries)
	}
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if clean != "." && !fs.ValidPath(clean) {
		return fmt.Errorf("entry %q leaves the assets directory", name)
	}
	if size < 0 || size > maxUnpacked-*total {
		return fmt.Errorf("unpacked size over the limit of %d bytes", maxUnpacked)
	}
	*total += size
	return nil
}

func checkZip(r io.ReaderAt, size, maxUnpacked int64) error {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: %v", errNotArchive, err)
	}
	var entries int
	var total int64
	for _, f := range z.File {
		if err := checkEntry(f.Name, int64(min(f.UncompressedSize64, 1<<62)), &entries, &total, maxUnpacked); err != nil {
			return err
		}
	}
	return nil
}

// checkTar reads a tar (or tar.gz) archive to its end, bounding what it
// unpacks to: a gzip stream is not trusted to say its own size.
func checkTar(r io.Reader, gzipped bool, maxUnpacked int64) error {
	if gzipped {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%w: %v", errNotArchive, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var entries int
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if entries == 0 {
				return fmt.Errorf("%w: no entry", errNotArchive)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errNotArchive, err)
		}
		if err := checkEntry(h.Name, h.Size, &entries, &total, maxUnpacked); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("%w: %v", errNotArchive, err)
		}
	}
}
