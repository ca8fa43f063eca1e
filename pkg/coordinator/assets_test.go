package coordinator_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// tarOf is a tar archive of files of the given sizes (zero bytes).
func tarOf(t testing.TB, files map[string]int) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(files[n]), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(make([]byte, files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zipOf(t testing.TB, files map[string]int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for n, size := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDeployAssets: assets are checked as an archive at deploy, their
// unpacked size bounded; what is refused creates no version.
func TestDeployAssets(t *testing.T) {
	const unpacked = 4 << 20
	spool := t.TempDir()
	e := start(t, sqliteStore(t), newIssuer(t), func(cfg *coordinator.Config) {
		cfg.MaxAssetsUnpackedBytes = unpacked
		cfg.SpoolDir = spool
	})
	ctx := context.Background()
	refused := []struct {
		name   string
		assets []byte
		want   string
	}{
		{"text", []byte("assets"), "assets refused: not a zip, tar or tar.gz archive"},
		{"random megabytes", bytes.Repeat([]byte("bogus!"), 1<<20), "not a zip, tar or tar.gz archive"},
		{"gzip of text", gzipOf(t, bytes.Repeat([]byte("text "), 1000)), "not a zip, tar or tar.gz archive"},
		{"truncated tar", tarOf(t, map[string]int{"a.bin": 10000})[:3000], "not a zip, tar or tar.gz archive"},
		{"tar over the unpacked limit", tarOf(t, map[string]int{"a.bin": unpacked / 2, "b.bin": unpacked/2 + 1}), "unpacked size over the limit of 4194304 bytes"},
		{"tar.gz bomb", gzipOf(t, tarOf(t, map[string]int{"bomb.bin": 2 * unpacked})), "unpacked size over the limit"},
		{"zip over the unpacked limit", zipOf(t, map[string]int{"bomb.bin": unpacked + 1}), "unpacked size over the limit"},
		{"path out of the directory", tarOf(t, map[string]int{"../escape.txt": 1}), "leaves the assets directory"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "art", Module: minimalWasm, Assets: tc.assets})
			if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("deploy: %v, want InvalidArgument containing %q", err, tc.want)
			}
		})
	}
	if _, err := e.admin.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: "art"}); code(err) != codes.NotFound {
		t.Fatalf("a refused deploy created a version: %v", err)
	}
	for _, a := range [][]byte{
		tarOf(t, map[string]int{"a.bin": unpacked / 2, "dir/b.txt": 10}),
		gzipOf(t, tarOf(t, map[string]int{"a.bin": unpacked})),
		zipOf(t, map[string]int{"a.bin": 100, "b/c.txt": 5}),
	} {
		res, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "art", Module: minimalWasm, Assets: a})
		if err != nil || res.Version.AssetsSize != int64(len(a)) {
			t.Fatalf("deploy of a good archive: %v %v", res, err)
		}
	}
	if left, err := os.ReadDir(spool); err != nil || len(left) != 0 {
		t.Fatalf("the spool directory keeps %v (%v)", left, err)
	}
}
