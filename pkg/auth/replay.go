package auth

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the IDs of used join tickets until they expire, so
// each ticket is accepted once. Memory is bounded: it holds at most its
// capacity of unexpired IDs, expired ones are pruned on every use, and when
// it is full new tickets are refused ([ErrReplayCacheFull]) rather than
// forgetting one that could then be replayed. It is safe for concurrent use.
type ReplayCache struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]time.Time
	byExpiry expiryHeap
}

// NewReplayCache returns a cache remembering at most capacity IDs
// (DefaultReplayCapacity if capacity <= 0).
func NewReplayCache(capacity int) *ReplayCache {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	return &ReplayCache{capacity: capacity, seen: make(map[string]time.Time)}
}

// Use records id as used until forgetAfter. It returns an error wrapping
// [ErrTicketReused] if id is already recorded, or [ErrReplayCacheFull] if the
// cache holds its capacity of unexpired IDs. now is the current time, used
// to prune IDs whose time has passed.
func (c *ReplayCache) Use(id string, forgetAfter, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	if _, ok := c.seen[id]; ok {
		return ErrTicketReused
	}
	if len(c.seen) >= c.capacity {
		return fmt.Errorf("%w (%d unexpired tickets)", ErrReplayCacheFull, len(c.seen))
	}
	c.seen[id] = forgetAfter
	heap.Push(&c.byExpiry, expiryEntry{id: id, at: forgetAfter})
	return nil
}

// Len returns how many IDs the cache remembers, pruning those expired at now.
func (c *ReplayCache) Len(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	return len(c.seen)
}

func (c *ReplayCache) pruneLocked(now time.Time) {
	for len(c.byExpiry) > 0 && !c.byExpiry[0].at.After(now) {
		e := heap.Pop(&c.byExpiry).(expiryEntry)
		delete(c.seen, e.id)
	}
}

type expiryEntry struct {
	id string
	at time.Time
}

// expiryHeap is a min-heap of entries by expiry time.
type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = expiryEntry{}
	*h = old[:len(old)-1]
	return e
}
