package lifecycle

import "testing"

func TestEnded(t *testing.T) {
	want := map[State]bool{Pending: false, Starting: false, Running: false, Stopping: false,
		Stopped: true, Failed: true, Lost: true}
	for _, s := range States {
		if got := s.Ended(); got != want[s] {
			t.Errorf("%s.Ended() = %v, want %v", s, got, want[s])
		}
	}
	if len(want) != len(States) {
		t.Errorf("States lists %d states, want %d", len(States), len(want))
	}
}
