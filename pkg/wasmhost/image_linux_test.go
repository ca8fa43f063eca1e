package wasmhost

import (
	"bytes"
	"context"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
)

// TestImagePreparedMemory checks the reservations an image prepares ahead
// once its first instance has started: the pool fills up in the
// background, each reservation holds exactly the image's bytes, with the
// pages the first init wrote already copied (private) and the ones it read
// mapped, and the next start takes one.
func TestImagePreparedMemory(t *testing.T) {
	requireImages(t)
	ctx := context.Background()
	e := newEngine(t, Config{CacheDir: sharedCacheDir(t)})
	m, err := e.Compile(ctx, gamebuildtest.Arena(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := InstanceConfig{Game: "arena", Seed: 3, MaxPlayers: 4}
	if err := m.PrepareImage(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	first := instantiate(t, m, cfg)
	defer first.Close(ctx)
	file := first.memory.image
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := file.pooled(); n == imagePoolSize {
			break
		}
		if time.Now().After(deadline) {
			n, _ := file.pooled()
			t.Fatalf("%d reservations prepared in 30 s, want %d", n, imagePoolSize)
		}
		time.Sleep(time.Millisecond)
	}
	file.mu.Lock()
	written, read := file.written, file.read
	file.mu.Unlock()
	if len(written) == 0 || len(read) == 0 {
		t.Fatalf("learnt %d written and %d read runs of pages from arena's init, want some of each", len(written), len(read))
	}
	buf := file.take(first.memory.limit)
	if buf == nil {
		t.Fatal("no reservation of the instance's size in the pool")
	}
	image := make([]byte, file.size)
	if _, err := unix.Pread(file.fd, image, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:file.size], image) {
		t.Fatal("a prepared reservation is not the image's bytes")
	}
	page := unix.Getpagesize()
	entries, err := readPagemap(unsafe.Pointer(unsafe.SliceData(buf)), file.size/page, page)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range written {
		for off := r.off; off < r.off+r.len; off += page {
			if e := entries[off/page]; e&pagePresent == 0 || e&pageFile != 0 {
				t.Fatalf("page %d, written by init, is not copied ahead (pagemap %#x)", off/page, e)
			}
		}
	}
	for _, r := range read {
		if e := entries[r.off/page]; e&pagePresent == 0 {
			t.Fatalf("page %d, read by init, is not mapped ahead", r.off/page)
		}
	}
	file.release(buf)

	next := instantiate(t, m, cfg)
	defer next.Close(ctx)
	if !next.memory.pooled {
		t.Fatal("the next start did not take a prepared reservation")
	}
}

// TestImageCloseDuringResets closes a module while instances of its image
// close on other goroutines, each having written every byte of its memory
// so that its reset copies the whole image back from the image's view, the
// module's close coming a little later each round so that it lands during
// the resets: nothing may read the view once it is unmapped (a crash), and
// once all are closed the image holds no reservation and no view.
func TestImageCloseDuringResets(t *testing.T) {
	requireImages(t)
	ctx := context.Background()
	wasm := gamebuildtest.Arena(t)
	// Each round compiles arena (and its variant) again, from the
	// compilation cache.
	e := newEngine(t, Config{CacheDir: sharedCacheDir(t)})
	for round := range 8 {
		m, err := e.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		cfg := InstanceConfig{Game: "arena", Seed: uint64(round)}
		if err := m.PrepareImage(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		var insts []*Instance
		for range 4 {
			inst := instantiate(t, m, cfg)
			copy(inst.memory.buf, bytes.Repeat([]byte{0xA5}, len(inst.memory.buf)))
			insts = append(insts, inst)
		}
		file := insts[0].memory.image
		done := make(chan struct{})
		for _, inst := range insts {
			go func() {
				inst.Close(ctx)
				done <- struct{}{}
			}()
		}
		time.Sleep(time.Duration(round) * 100 * time.Microsecond)
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
		for range insts {
			<-done
		}
		if pooled, view := file.pooled(); pooled != 0 || view {
			t.Fatalf("round %d: after every close the image holds %d reservations (view %v)", round, pooled, view)
		}
	}
}
