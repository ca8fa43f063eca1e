package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSaveAndLoadState: a new arena that loads an old one's saved state
// shows the same world (avatars, positions, scores, orbs) and goes on
// from it.
func TestSaveAndLoadState(t *testing.T) {
	old := newTestGame(t, 7, "")
	for _, id := range []string{"alice", "bob", "carol"} {
		old.Join(id)
	}
	old.players[0].score = 5
	for i := range 90 {
		old.Input("alice", msg(1, int8(i%3-1), 0))
		old.Input("bob", msg(-1, 1, 1))
		ticks(old, 1)
	}
	saved, err := old.SaveState(nil)
	if err != nil {
		t.Fatal(err)
	}
	next := newTestGame(t, 7, "")
	if err := next.LoadState(saved); err != nil {
		t.Fatal(err)
	}
	a, _ := old.State(nil)
	b, _ := next.State(nil)
	if !bytes.Equal(a, b) {
		t.Fatal("the loaded arena's state differs from the saved one's")
	}
	ticks(old, 1)
	ticks(next, 1)
	if s := decodeState(t, next); len(s.Players) != 3 || s.Players[0].Score != 5 {
		t.Errorf("after a tick: players %+v", s.Players)
	}
	for name, data := range map[string][]byte{"not JSON": []byte("{"), "format 9": []byte(`{"format":9}`)} {
		if err := newTestGame(t, 7, "").LoadState(data); err == nil || !strings.Contains(err.Error(), "arena: saved state") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
