package agent

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/testenv"
)

type fakeFetcher struct {
	blobs map[string][]byte
	calls atomic.Int32
	fail  int32 // fail this many calls first
}

func (f *fakeFetcher) FetchBlob(_ context.Context, sha string) ([]byte, error) {
	if n := f.calls.Add(1); n <= f.fail {
		return nil, errors.New("unavailable")
	}
	b, ok := f.blobs[sha]
	if !ok {
		return nil, errors.New("not found")
	}
	return b, nil
}

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBlobCache(t *testing.T) {
	data := []byte("module bytes")
	sha := shaOf(data)
	f := &fakeFetcher{blobs: map[string][]byte{sha: data}, fail: 2}
	dir := t.TempDir()
	c, err := newBlobCache(dir, f, backoff{min: time.Millisecond, max: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name      string
		prepare   func()
		wantCalls int32
	}{
		{"fetched after failures", func() {}, 3},
		{"read from disk", func() {}, 3},
		{"corrupt file fetched again", func() {
			if err := os.WriteFile(filepath.Join(dir, "blobs", sha), []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.prepare()
			b, err := c.get(ctx, sha)
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("get = %q %v", b, err)
			}
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Fatalf("fetches = %d, want %d", got, tc.wantCalls)
			}
		})
	}
	if _, err := c.get(ctx, "../../etc/passwd"); err == nil {
		t.Fatal("a path accepted as a sha256")
	}
	if _, err := c.get(ctx, shaOf([]byte("missing"))); err == nil {
		t.Fatal("a missing blob fetched")
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAssetsArchives(t *testing.T) {
	good := tarOf(t, map[string]string{"./maps/one.txt": "hello"})
	evil := tarOf(t, map[string]string{"../outside.txt": "no"})
	f := &fakeFetcher{blobs: map[string][]byte{shaOf(good): good, shaOf(evil): evil}}
	dir := t.TempDir()
	c, err := newBlobCache(dir, f, backoff{min: time.Millisecond, max: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := c.assets(context.Background(), shaOf(good))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(fsys, "maps/one.txt"); err != nil || string(b) != "hello" {
		t.Fatalf("read = %q %v", b, err)
	}
	if _, err := c.assets(context.Background(), shaOf(evil)); err == nil || !strings.Contains(err.Error(), "leaves") {
		t.Fatalf("evil archive: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "outside.txt")); err == nil {
		t.Fatal("file written outside the assets directory")
	}
}

func TestReasonText(t *testing.T) {
	tests := []struct {
		name string
		st   executor.InstanceStatus
		want string
	}{
		{"detail starts with the reason", executor.InstanceStatus{State: executor.StateFailed, Reason: "fuel_exhausted",
			Detail: "fuel_exhausted in tick: spent its budget"}, "fuel_exhausted in tick: spent its budget"},
		{"detail without the reason", executor.InstanceStatus{State: executor.StateFailed, Reason: "start_failed",
			Detail: "bad params"}, "start_failed: bad params"},
		{"stop reason alone", executor.InstanceStatus{State: executor.StateStopped, Reason: "lease expired"}, "lease expired"},
		{"long detail cut", executor.InstanceStatus{State: executor.StateFailed, Reason: "trap",
			Detail: "trap " + strings.Repeat("é", 400)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := reasonText(tc.st)
			if tc.want == "" {
				if len(got) > maxReasonBytes || !strings.HasPrefix(got, "trap") || !utf8Valid(got) {
					t.Fatalf("cut reason %q", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// gatedFetcher is a fakeFetcher whose fetches wait for release.
type gatedFetcher struct {
	fakeFetcher
	release chan struct{}
}

func (f *gatedFetcher) FetchBlob(ctx context.Context, sha string) ([]byte, error) {
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return f.fakeFetcher.FetchBlob(ctx, sha)
}

// TestBlobDownloadedOnceForACrowd: 64 concurrent gets of one blob make one
// download; a caller that gives up does not stop it for the others.
func TestBlobDownloadedOnceForACrowd(t *testing.T) {
	data := []byte("a module everyone wants")
	sha := shaOf(data)
	f := &gatedFetcher{fakeFetcher: fakeFetcher{blobs: map[string][]byte{sha: data}}, release: make(chan struct{})}
	c, err := newBlobCache(t.TempDir(), f, backoff{min: time.Millisecond, max: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	impatient, cancel := context.WithCancel(context.Background())
	errs := make(chan error, n)
	for i := range n {
		ctx := context.Background()
		if i == 0 {
			ctx = impatient // the first caller starts the download, then gives up
		}
		go func() {
			b, err := c.get(ctx, sha)
			if err == nil && !bytes.Equal(b, data) {
				err = errors.New("wrong bytes")
			}
			errs <- err
		}()
		if i == 0 {
			testenv.WaitFor(t, "the download to start", 10*time.Second, func() bool {
				return c.fetches.InFlight(sha) == 1
			})
		}
	}
	testenv.WaitFor(t, "every caller to wait for the download", 10*time.Second, func() bool { return c.fetches.InFlight(sha) == n })
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled caller got %v, want context.Canceled", err)
	}
	close(f.release)
	for range n - 1 {
		if err := <-errs; err != nil {
			t.Fatalf("get: %v", err)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("%d downloads for %d concurrent gets, want 1", got, n)
	}
}
