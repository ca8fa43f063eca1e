package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

func TestDoRunsOncePerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		var runs, sharedCount atomic.Int32
		release := make(chan struct{})
		const callers = 64
		var wg sync.WaitGroup
		results := make([]int, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, shared, err := g.Do(context.Background(), "k", func(context.Context) (int, error) {
					runs.Add(1)
					<-release
					return 42, nil
				})
				if err != nil {
					t.Errorf("Do: %v", err)
				}
				if shared {
					sharedCount.Add(1)
				}
				results[i] = v
			}()
		}
		synctest.Wait() // every caller waits, the work is blocked on release
		close(release)
		wg.Wait()
		if n := runs.Load(); n != 1 {
			t.Fatalf("fn ran %d times for %d concurrent callers, want 1", n, callers)
		}
		if n := sharedCount.Load(); n != callers-1 {
			t.Errorf("%d callers were told shared, want %d", n, callers-1)
		}
		for i, v := range results {
			if v != 42 {
				t.Fatalf("caller %d got %d, want 42", i, v)
			}
		}
		// The call is over: the next Do runs fn again.
		v, shared, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 7, nil })
		if v != 7 || shared {
			t.Errorf("Do after the flight = %d, shared %v; want 7, false", v, shared)
		}
	})
}

func TestDoOneCallerCancelledOthersGetResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, string]
		release := make(chan struct{})
		var workCtx context.Context
		fn := func(ctx context.Context) (string, error) {
			workCtx = ctx
			<-release
			return "done", ctx.Err()
		}
		ctx1, cancel1 := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, _, err := g.Do(ctx1, "k", fn)
			errc <- err
		}()
		synctest.Wait()
		res := make(chan string, 1)
		go func() {
			v, shared, err := g.Do(context.Background(), "k", fn)
			if err != nil || !shared {
				t.Errorf("second caller: shared %v, err %v; want shared, no error", shared, err)
			}
			res <- v
		}()
		synctest.Wait()
		cancel1() // the caller that started the work gives up
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want context.Canceled", err)
		}
		synctest.Wait()
		if err := workCtx.Err(); err != nil {
			t.Fatalf("the shared work was cancelled with one caller still waiting: %v", err)
		}
		close(release)
		if v := <-res; v != "done" {
			t.Fatalf("remaining caller got %q, want done", v)
		}
	})
}

func TestDoLastCallerGoneCancelsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		var runs atomic.Int32
		fn := func(ctx context.Context) (int, error) {
			runs.Add(1)
			<-ctx.Done()
			return 0, ctx.Err()
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 2)
		for range 2 {
			go func() {
				_, _, err := g.Do(ctx, "k", fn)
				done <- err
			}()
		}
		synctest.Wait()
		cancel()
		for range 2 {
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Do = %v, want context.Canceled", err)
			}
		}
		synctest.Wait() // the work saw its context end and returned
		// A new caller starts afresh rather than joining the cancelled call.
		v, shared, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
		if v != 1 || shared || err != nil {
			t.Fatalf("Do after cancellation = %d, shared %v, %v; want 1, false, nil", v, shared, err)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("cancelled work ran %d times, want 1", n)
		}
	})
}

func TestDoKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int, int]
		block := make(chan struct{})
		go func() {
			_, _, _ = g.Do(context.Background(), 1, func(context.Context) (int, error) { <-block; return 1, nil })
		}()
		synctest.Wait()
		v, shared, err := g.Do(context.Background(), 2, func(context.Context) (int, error) { return 2, nil })
		if v != 2 || shared || err != nil {
			t.Fatalf("Do(2) while 1 is in flight = %d, %v, %v", v, shared, err)
		}
		close(block)
	})
}
