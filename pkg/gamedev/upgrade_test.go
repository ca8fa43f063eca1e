package gamedev

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestUpgradeError: the executor's refusals for a missing pair, or a
// save_state that saves nothing, are ErrNoUpgradePair; other failures are
// not, and keep the executor's reason.
func TestUpgradeError(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		noPair bool
	}{
		{"go game without Upgradable", "instance i-1: no upgrade, it runs as before on x-1: upgrade instance i-1 to version 2: upgrade not done: save_state: no hot-upgrade support: save_state returned 0: the game does not save its state", true},
		{"new version lacks load_state", "upgrade instance i-1 to version 3: upgrade not done: version 3 does not export load_state: a hot upgrade needs the save_state/load_state pair (docs/abi.md)", true},
		{"old version lacks save_state", "upgrade not done: the running version 1 does not export save_state: a hot upgrade needs the pair", true},
		{"rolled back", "upgrade not done: the new version failed in its first frames, the old version goes on: trap: unreachable", false},
		{"load_state failed", "upgrade not done: load_state failed, the old version goes on: arena: saved state of format 9", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := upgradeError(status.Error(codes.FailedPrecondition, tt.msg))
			if got := errors.Is(err, ErrNoUpgradePair); got != tt.noPair {
				t.Errorf("errors.Is(ErrNoUpgradePair) = %v, want %v (%v)", got, tt.noPair, err)
			}
			if want := tt.msg; len(err.Error()) < len(want) || err.Error()[len(err.Error())-len(want):] != want {
				t.Errorf("error %q does not end with the executor's reason", err)
			}
		})
	}
}
