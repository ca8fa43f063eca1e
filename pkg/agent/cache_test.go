package agent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/wasmbin"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestBlobCacheStaysWithinItsBound deploys and spawns several distinct
// modules on an executor whose blob cache holds two and a half of them:
// the cache never exceeds its bound, and the module of the instance that
// runs throughout is never evicted.
func TestBlobCacheStaysWithinItsBound(t *testing.T) {
	e := newEnv(t)
	base := readModule(t, "../coordinator/testdata/minimal.wasm")
	variant := func(i int) []byte {
		return wasmbin.AppendCustomSection(slices.Clone(base), "rcc.test", bytes.Repeat([]byte{byte(i)}, 4096))
	}
	size := int64(len(variant(0)))
	bound := 2*size + size/2
	dir := t.TempDir()
	e.startAgent("ex-cache", dir, func(c *agent.Config) { c.BlobCacheBytes = bound })
	blobs := filepath.Join(dir, "blobs")
	cached := func() (total int64, names []string) {
		files, err := os.ReadDir(blobs)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			info, err := f.Info()
			if err != nil {
				t.Fatal(err)
			}
			total += info.Size()
			names = append(names, f.Name())
		}
		return total, names
	}
	shaOf := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	e.deploy("keep", variant(0))
	keep := e.spawn("keep")
	e.waitState(keep, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	for i := 1; i <= 5; i++ {
		game := fmt.Sprintf("game-%d", i)
		e.deploy(game, variant(i))
		id := e.spawn(game)
		e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
		total, names := cached()
		if total > bound {
			t.Fatalf("after %s: the blob cache holds %d bytes (%d blobs), over its bound of %d", game, total, len(names), bound)
		}
		for _, want := range []string{shaOf(variant(0)), shaOf(variant(i))} {
			if !slices.Contains(names, want) {
				t.Fatalf("after %s: blob %s of a running instance was evicted (cache: %v)", game, want, names)
			}
		}
		if _, err := e.admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: id, Reason: "next"}); err != nil {
			t.Fatal(err)
		}
		e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_STOPPED)
	}
	// Three blobs were evicted along the way, oldest first: game-1 is gone.
	if _, names := cached(); slices.Contains(names, shaOf(variant(1))) {
		t.Errorf("the least recently used blob (game-1) is still cached: %v", names)
	}
	if in := e.waitState(keep, rccv1.InstanceState_INSTANCE_STATE_RUNNING); in == nil {
		t.Fatal("the long-running instance stopped")
	}
}
