package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// counterGame keeps a count that survives upgrades.
type counterGame struct {
	nopGame
	n       byte
	loadErr error
}

func (g *counterGame) SaveState(dst []byte) ([]byte, error) { return append(dst, 'c', g.n), nil }

func (g *counterGame) LoadState(data []byte) error {
	if g.loadErr != nil {
		return g.loadErr
	}
	if len(data) != 2 || data[0] != 'c' {
		return errors.New("not a counter state")
	}
	g.n = data[1]
	return nil
}

func TestSaveAndLoadState(t *testing.T) {
	old := initGuest(t, &counterGame{n: 41}, "{}")
	var stderr bytes.Buffer
	saved := old.saveState(&stderr)
	if n := binary.LittleEndian.Uint32(saved); n != 2 || string(saved[4:]) != "c)" {
		t.Fatalf("save_state = %q, want a 2-byte state c)", saved)
	}
	next := &counterGame{}
	g := initGuest(t, next, "{}")
	if code := g.loadState(&stderr, saved[4:]); code != 0 || next.n != 41 {
		t.Fatalf("load_state = %d, count %d; want 0 and 41 (stderr %q)", code, next.n, stderr.String())
	}
	if code := g.loadState(&stderr, []byte("x")); code != 2 || !strings.Contains(stderr.String(), "not a counter state") {
		t.Errorf("load_state of a bad state = %d, stderr %q; want 2 and the game's error", code, stderr.String())
	}
}

func TestSaveStateWithoutUpgradable(t *testing.T) {
	g := initGuest(t, nopGame{}, "{}")
	var stderr bytes.Buffer
	if b := g.saveState(&stderr); b != nil {
		t.Errorf("save_state of a game without Upgradable = %q, want nil (address 0)", b)
	}
	if code := g.loadState(&stderr, []byte("c\x01")); code != 1 || !strings.Contains(stderr.String(), "sdk.Upgradable") {
		t.Errorf("load_state = %d, stderr %q; want 1 naming sdk.Upgradable", code, stderr.String())
	}
}
