package main

import (
	"fmt"
	"hash/maphash"
	"sync"
	"syscall"
	"time"
)

// checker compares the states the players reconstructed with the states a
// witness on full states received, by instance and frame: a hash of each.
type checker struct {
	mu      sync.Mutex
	seed    maphash.Seed
	truth   map[string]map[uint64]uint64   // instance, frame: the witness's hash
	players map[string]map[uint64][]uint64 // instance, frame: the players' hashes
}

// checkReport is the outcome of --check.
type checkReport struct {
	// Frames is the frames compared, States the players' states compared,
	// Mismatches those that differed from the witness's, Unchecked the
	// players' states of frames the witness did not receive.
	Frames     int    `json:"frames"`
	States     int    `json:"states"`
	Mismatches int    `json:"mismatches"`
	Unchecked  int    `json:"unchecked"`
	First      string `json:"first_mismatch,omitempty"`
}

func newChecker() *checker {
	return &checker{seed: maphash.MakeSeed(), truth: map[string]map[uint64]uint64{}, players: map[string]map[uint64][]uint64{}}
}

func (c *checker) witness(instance string, frame uint64, state []byte) {
	h := maphash.Bytes(c.seed, state)
	c.mu.Lock()
	m := c.truth[instance]
	if m == nil {
		m = map[uint64]uint64{}
		c.truth[instance] = m
	}
	m[frame] = h
	c.mu.Unlock()
}

func (c *checker) player(instance string, frame uint64, state []byte) {
	h := maphash.Bytes(c.seed, state)
	c.mu.Lock()
	m := c.players[instance]
	if m == nil {
		m = map[uint64][]uint64{}
		c.players[instance] = m
	}
	m[frame] = append(m[frame], h)
	c.mu.Unlock()
}

func (c *checker) report() *checkReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &checkReport{}
	for inst, frames := range c.players {
		truth := c.truth[inst]
		for frame, hashes := range frames {
			want, ok := truth[frame]
			if !ok {
				r.Unchecked += len(hashes)
				continue
			}
			r.Frames++
			for _, h := range hashes {
				r.States++
				if h != want {
					r.Mismatches++
					if r.First == "" {
						r.First = fmt.Sprintf("instance %s frame %d", inst, frame)
					}
				}
			}
		}
	}
	return r
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
