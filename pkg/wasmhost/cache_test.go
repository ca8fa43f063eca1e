package wasmhost

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// variants returns n modules that do what testdata/name does, each with
// content of its own.
func variants(t testing.TB, name string, n int) [][]byte {
	base := readModule(t, name)
	out := make([][]byte, n)
	for i := range out {
		out[i] = wasmbin.AppendCustomSection(slices.Clone(base), "rcc.test", []byte{byte(i)})
	}
	return out
}

// TestCodeCacheBound compiles distinct modules into an engine whose cache
// holds two and a half of them, one with a live instance throughout: the
// cache stays within its bound (in memory and on disk), the least
// recently used idle module goes first, and the one in use is never
// evicted.
func TestCodeCacheBound(t *testing.T) {
	ctx := context.Background()
	mods := variants(t, "recorder", 6)
	size := compile(t, newEngine(t, Config{}), "recorder").size
	bound := 2*size + size/2
	dir := t.TempDir()
	// Without images: a module's variant for them would count too.
	e := newEngine(t, Config{CodeCacheBytes: bound, CacheDir: dir, NoImages: true})

	first, err := e.Compile(ctx, mods[0])
	if err != nil {
		t.Fatal(err)
	}
	live := instantiate(t, first, InstanceConfig{})
	var handles []*Module
	for i, wasm := range mods[1:] {
		m, err := e.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, m)
		st := e.CacheStats()
		if st.Bytes > bound {
			t.Fatalf("after module %d: cache of %d bytes, over its bound of %d (%+v)", i+1, st.Bytes, bound, st)
		}
		if again, err := e.Compile(ctx, mods[0]); err != nil || again != first {
			t.Fatalf("after module %d: the module in use was evicted (Compile gave %p, %v; want %p)", i+1, again, err, first)
		}
		if _, err := live.Frame(ctx, nil); err != nil {
			t.Fatalf("the live instance failed after module %d: %v", i+1, err)
		}
	}
	st := e.CacheStats()
	if st.Compilations != 6 || st.Evictions != 4 || st.Modules != 2 || st.InUse != 1 {
		t.Errorf("cache stats %+v, want 6 compilations, 4 evictions, 2 modules (1 in use)", st)
	}
	// The oldest idle module went first: its handle refuses instances, and
	// compiling its bytes again compiles them.
	if _, err := handles[0].Instantiate(ctx, InstanceConfig{}); !errors.Is(err, ErrModuleClosed) {
		t.Errorf("instantiate an evicted module: %v, want ErrModuleClosed", err)
	}
	if m, err := e.Compile(ctx, mods[1]); err != nil || m == handles[0] || e.CacheStats().Compilations != 7 {
		t.Errorf("recompiling an evicted module: %p %v, %+v", m, err, e.CacheStats())
	}
	// On disk: the oldest files go first, the newest always stays.
	var files int
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			info, _ := d.Info()
			files++
			total += info.Size()
		}
		return nil
	})
	if total > bound && files > 1 {
		t.Errorf("compilation cache directory holds %d files, %d bytes: over its bound of %d", files, total, bound)
	}
}

// TestCompileOnceForConcurrentCallers: many Compiles of bytes no cache has
// seen make one compilation, and all get the same module.
func TestCompileOnceForConcurrentCallers(t *testing.T) {
	e := newEngine(t, Config{})
	wasm := variants(t, "recorder", 1)[0]
	const n = 32
	got := make(chan *Module, n)
	for range n {
		go func() {
			m, err := e.Compile(context.Background(), wasm)
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
	}
	first := <-got
	for range n - 1 {
		if m := <-got; m != first {
			t.Fatalf("concurrent Compiles returned different modules")
		}
	}
	if c := e.CacheStats().Compilations; c != 1 {
		t.Fatalf("%d compilations for %d concurrent Compiles, want 1", c, n)
	}
}
