package auth

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// ReuseGuard remembers the IDs of spent join tickets until they expire, so
// each ticket is accepted once. (It has nothing to do with replaying an
// input log, pkg/replay.) Memory is bounded: it holds at most its capacity
// of unexpired spent IDs, expired ones are pruned on every use, and when it
// is full new tickets are refused ([ErrReuseGuardFull]) rather than
// forgetting one that could then be presented again. It is safe for
// concurrent use.
type ReuseGuard struct {
	mu       sync.Mutex
	capacity int
	spent    map[string]time.Time // ticket id: when it may be forgotten
	byExpiry expiryHeap
}

// NewReuseGuard returns a guard remembering at most capacity spent IDs
// (DefaultSpentCapacity if capacity <= 0).
func NewReuseGuard(capacity int) *ReuseGuard {
	if capacity <= 0 {
		capacity = DefaultSpentCapacity
	}
	return &ReuseGuard{capacity: capacity, spent: make(map[string]time.Time)}
}

// Spend records id as spent until forgetAfter. It returns an error
// wrapping [ErrTicketReused] if id is already spent, or [ErrReuseGuardFull]
// if the guard holds its capacity of unexpired IDs. now is the current
// time, used to prune IDs whose time has passed.
func (g *ReuseGuard) Spend(id string, forgetAfter, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
	if _, ok := g.spent[id]; ok {
		return ErrTicketReused
	}
	if len(g.spent) >= g.capacity {
		return fmt.Errorf("%w (%d unexpired tickets)", ErrReuseGuardFull, len(g.spent))
	}
	g.spent[id] = forgetAfter
	heap.Push(&g.byExpiry, expiryEntry{id: id, at: forgetAfter})
	return nil
}

// Len returns how many spent IDs the guard remembers, pruning those
// expired at now.
func (g *ReuseGuard) Len(now time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
	return len(g.spent)
}

// pruneLocked forgets the IDs expired at now. g.mu is held.
func (g *ReuseGuard) pruneLocked(now time.Time) {
	for len(g.byExpiry) > 0 && !g.byExpiry[0].at.After(now) {
		e := heap.Pop(&g.byExpiry).(expiryEntry)
		delete(g.spent, e.id)
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
