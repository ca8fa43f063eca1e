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

// active reports whether anyone watches.
func (h *hub) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
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

// streams wakes the assignment streams of executors with the instances
// that changed, and holds stop orders for instances an executor runs but
// should not.
type streams struct {
	mu    sync.Mutex
	subs  map[string]map[*streamSub]struct{}
	stops map[string]map[string]string // executor -> instance -> reason
}

// streamSub is one open assignment stream.
type streamSub struct {
	ch   chan struct{}
	ids  map[string]struct{} // instances changed since the last take
	full bool                // resynchronise everything
}

func newStreams() *streams {
	return &streams{subs: map[string]map[*streamSub]struct{}{}, stops: map[string]map[string]string{}}
}

func (s *streams) subscribe(executor string) *streamSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &streamSub{ch: make(chan struct{}, 1), ids: map[string]struct{}{}}
	if s.subs[executor] == nil {
		s.subs[executor] = map[*streamSub]struct{}{}
	}
	s.subs[executor][sub] = struct{}{}
	return sub
}

func (s *streams) unsubscribe(executor string, sub *streamSub) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs[executor], sub)
	if len(s.subs[executor]) == 0 {
		delete(s.subs, executor)
	}
}

// take returns what changed since the last take.
func (s *streams) take(sub *streamSub) (ids []string, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range sub.ids {
		ids = append(ids, id)
	}
	clear(sub.ids)
	full, sub.full = sub.full, false
	return ids, full
}

func signal(sub *streamSub) {
	select {
	case sub.ch <- struct{}{}:
	default:
	}
}

// wake tells an executor's streams that an instance changed; with no
// instance, to resynchronise everything.
func (s *streams) wake(executor, instance string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs[executor] {
		if instance == "" {
			sub.full = true
		} else {
			sub.ids[instance] = struct{}{}
		}
		signal(sub)
	}
}

func (s *streams) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.subs {
		for sub := range set {
			sub.full = true
			signal(sub)
		}
	}
}

func (s *streams) orderStop(executor, instance, reason string) {
	s.mu.Lock()
	if s.stops[executor] == nil {
		s.stops[executor] = map[string]string{}
	}
	s.stops[executor][instance] = reason
	for sub := range s.subs[executor] {
		signal(sub)
	}
	s.mu.Unlock()
}

func (s *streams) takeStops(executor string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stops[executor]
	delete(s.stops, executor)
	return out
}
