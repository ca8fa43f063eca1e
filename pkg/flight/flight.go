package flight

import (
	"context"
	"sync"
)

// Group runs calls keyed by K. The zero value is ready to use; a Group
// must not be copied after first use.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done    chan struct{}
	val     V
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do returns the result of fn for key. If a call for key is in flight, Do
// waits for it; otherwise it starts fn in a goroutine of its own, with a
// context that carries ctx's values but not its cancellation, and waits
// for that. If ctx ends first, Do returns ctx.Err() at once; when the last
// caller waiting for a call has gone, the call's context is cancelled and
// the next Do for key starts afresh. shared reports whether the result is
// one that another caller's Do started.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[K]*call[V]{}
	}
	c, shared := g.calls[key]
	if !shared {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[V]{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = c
		go func() {
			defer cancel()
			val, err := fn(wctx)
			g.mu.Lock()
			c.val, c.err = val, err
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, shared, c.err
	case <-ctx.Done():
	}
	select {
	case <-c.done: // finished as ctx ended: the result is there
		return c.val, shared, c.err
	default:
	}
	g.mu.Lock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if g.calls[key] == c {
			delete(g.calls, key)
		}
	}
	g.mu.Unlock()
	var zero V
	return zero, shared, ctx.Err()
}

// InFlight returns how many callers wait for the call of key in flight (0
// when there is none).
func (g *Group[K, V]) InFlight(key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.calls[key]; c != nil {
		return c.waiters
	}
	return 0
}
