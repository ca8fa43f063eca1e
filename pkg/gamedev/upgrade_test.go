package gamedev

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
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
		t.Run("text/"+tt.name, func(t *testing.T) {
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

// TestUpgradeErrorInfo: the coordinator's ErrorInfo NO_UPGRADE_PAIR makes
// an upgrade's error ErrNoUpgradePair whatever its text; another reason or
// domain does not.
func TestUpgradeErrorInfo(t *testing.T) {
	const msg = "instance i-1: no upgrade, it runs as before on x-1: the game cannot be upgraded"
	for _, tt := range []struct {
		name           string
		domain, reason string
		noPair         bool
	}{
		{"no pair", rccv1.ErrorDomain, rccv1.ReasonNoUpgradePair, true},
		{"other reason", rccv1.ErrorDomain, "ROLLED_BACK", false},
		{"other domain", "example.com", rccv1.ReasonNoUpgradePair, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := status.New(codes.FailedPrecondition, msg).WithDetails(&errdetails.ErrorInfo{Domain: tt.domain, Reason: tt.reason})
			if err != nil {
				t.Fatal(err)
			}
			got := upgradeError(st.Err())
			if errors.Is(got, ErrNoUpgradePair) != tt.noPair {
				t.Errorf("errors.Is(ErrNoUpgradePair) = %v, want %v (%v)", !tt.noPair, tt.noPair, got)
			}
			if !strings.HasSuffix(got.Error(), msg) {
				t.Errorf("error %q does not end with the coordinator's message", got)
			}
		})
	}
}
