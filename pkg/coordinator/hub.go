package coordinator

import (
	"sync"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// hub fans watch events out to subscribers. A subscriber that falls behind
// loses events rather than slowing the coordinator.
type hub struct {
	mu   sync.Mutex
	next int
	subs map[int]chan *rccv1.WatchEvent
}

func newHub() *hub { return &hub{subs: map[int]chan *rccv1.WatchEvent{}} }

func (h *hub) subscribe() (int, <-chan *rccv1.WatchEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	ch := make(chan *rccv1.WatchEvent, 256)
	h.subs[h.next] = ch
	return h.next, ch
}

func (h *hub) unsubscribe(id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, id)
}

func (h *hub) publish(ev *rccv1.WatchEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// streams wakes the assignment streams of executors, and holds stop orders
// for instances an executor runs but should not.
type streams struct {
	mu    sync.Mutex
	wakes map[string]map[chan struct{}]struct{}
	stops map[string]map[string]string // executor -> instance -> reason
}

func newStreams() *streams {
	return &streams{wakes: map[string]map[chan struct{}]struct{}{}, stops: map[string]map[string]string{}}
}

func (s *streams) subscribe(executor string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{}, 1)
	if s.wakes[executor] == nil {
		s.wakes[executor] = map[chan struct{}]struct{}{}
	}
	s.wakes[executor][ch] = struct{}{}
	return ch
}

func (s *streams) unsubscribe(executor string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.wakes[executor], ch)
	if len(s.wakes[executor]) == 0 {
		delete(s.wakes, executor)
	}
}

func (s *streams) connected(executor string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wakes[executor]) > 0
}

func (s *streams) wake(executor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.wakes[executor] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *streams) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.wakes {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (s *streams) orderStop(executor, instance, reason string) {
	s.mu.Lock()
	if s.stops[executor] == nil {
		s.stops[executor] = map[string]string{}
	}
	s.stops[executor][instance] = reason
	s.mu.Unlock()
	s.wake(executor)
}

func (s *streams) takeStops(executor string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stops[executor]
	delete(s.stops, executor)
	return out
}
