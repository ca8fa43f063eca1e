package executor

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// dispatchSlack lets the dispatcher hand out, in one pass, instances due
// within this much of now, rather than sleep for a few microseconds.
const dispatchSlack = 100 * time.Microsecond

// scheduler holds the running instances in a queue ordered by the time
// their next frame is due. One dispatcher goroutine pops due instances and
// hands them to the workers, which run a frame and push them back with
// their next due time.
type scheduler struct {
	mu       sync.Mutex
	queue    dueQueue
	wakeAt   time.Time // when the dispatcher plans to wake; zero while it works
	wake     chan struct{}
	ready    chan *instance
	frame    func(ctx context.Context, in *instance) (ended bool)
	overrun  func(in *instance, skipped uint64)
	workers  int
	batchBuf []*instance
}

func newScheduler(workers int, frame func(context.Context, *instance) bool, overrun func(*instance, uint64)) *scheduler {
	return &scheduler{
		wake:    make(chan struct{}, 1),
		ready:   make(chan *instance, 4*workers),
		frame:   frame,
		overrun: overrun,
		workers: workers,
	}
}

// add queues in with its first frame due at due.
func (s *scheduler) add(in *instance, due time.Time) {
	in.due = due
	s.mu.Lock()
	heap.Push(&s.queue, in)
	wake := !s.wakeAt.IsZero() && due.Before(s.wakeAt)
	s.mu.Unlock()
	if wake {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// len returns the number of queued instances (those not being run).
func (s *scheduler) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// run dispatches and runs frames (with ctx) until stop is closed, then
// returns once every worker is idle. Instances still queued stay queued.
func (s *scheduler) run(ctx context.Context, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx, stop)
		}()
	}
	s.dispatch(stop)
	wg.Wait()
}

func (s *scheduler) dispatch(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		batch := s.batchBuf[:0]
		for len(s.queue) > 0 && !s.queue[0].due.After(now.Add(dispatchSlack)) {
			batch = append(batch, heap.Pop(&s.queue).(*instance))
		}
		wait := time.Hour
		if len(batch) == 0 {
			if len(s.queue) > 0 {
				wait = s.queue[0].due.Sub(now)
			}
			s.wakeAt = now.Add(wait)
		}
		s.mu.Unlock()
		s.batchBuf = batch

		if len(batch) > 0 {
			for i, in := range batch {
				select {
				case s.ready <- in:
				case <-stop:
					s.requeue(batch[i:])
					return
				}
			}
			clear(batch)
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
		case <-stop:
			return
		}
		s.mu.Lock()
		s.wakeAt = time.Time{}
		s.mu.Unlock()
	}
}

// requeue puts back instances popped but not handed out.
func (s *scheduler) requeue(ins []*instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range ins {
		heap.Push(&s.queue, in)
	}
}

func (s *scheduler) work(ctx context.Context, stop <-chan struct{}) {
	for {
		var in *instance
		select {
		case in = <-s.ready:
		case <-stop:
			return
		}
		if s.frame(ctx, in) {
			continue // ended: dropped from the queue
		}
		// Next frame: the next point of the instance's grid still ahead.
		end := time.Now()
		next := in.due.Add(in.step)
		if next.Before(end) {
			late := end.Sub(in.due)
			k := late / in.step // whole steps between due and now
			next = in.due.Add((k + 1) * in.step)
			s.overrun(in, uint64(k))
		}
		s.add(in, next)
	}
}

// dueQueue is a min-heap of instances by due time.
type dueQueue []*instance

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(*instance)) }
func (q *dueQueue) Pop() any {
	old := *q
	n := len(old)
	in := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return in
}
