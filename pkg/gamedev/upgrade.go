package gamedev

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// ErrNoUpgradePair is wrapped by the result of an upgrade that the
// executor refused because a version lacks save_state or load_state, or
// its save_state saves nothing (a Go game that is not sdk.Upgradable;
// docs/abi.md, "Hot upgrade").
var ErrNoUpgradePair = errors.New("no save_state/load_state pair")

// UpgradeTimeout is the least time given to a cycle's upgrades: the
// executor compiles the new version first (seconds for a large module on a
// loaded machine), and the coordinator waits up to a minute for it.
const UpgradeTimeout = 90 * time.Second

// Upgraded is what became of one instance in UpgradeRunning.
type Upgraded struct {
	// ID is the instance's; From is the version it ran before.
	ID   string
	From uint32
	// Instance is the instance after the call: on the new version, or
	// on its old one when Err is set (refused or rolled back).
	Instance *rccv1.Instance
	Took     time.Duration
	Err      error
}

// UpgradeRunning hot-upgrades every running instance of game that does
// not run version to it, all at once, and returns each one's result in
// the order the coordinator lists them. A failure (refused, or rolled
// back: the instance then runs its old version) is in that instance's
// Err; the error returned is for the listing alone.
func UpgradeRunning(ctx context.Context, c *client.Client, game string, version uint32) ([]Upgraded, error) {
	ins, err := c.ListInstances(ctx, &rccv1.ListInstancesRequest{Game: game,
		States: []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_RUNNING}})
	if err != nil {
		return nil, fmt.Errorf("list the running instances of %s: %w", game, err)
	}
	var out []Upgraded
	for _, in := range ins {
		if in.Version != version {
			out = append(out, Upgraded{ID: in.Id, From: in.Version, Instance: in})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			u := &out[i]
			start := time.Now()
			in, err := c.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: u.ID, Version: version})
			u.Took = time.Since(start)
			if err != nil {
				u.Err = upgradeError(err)
				if got, gerr := c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: u.ID}); gerr == nil {
					u.Instance = got
				}
				return
			}
			u.Instance = in
		})
	}
	wg.Wait()
	return out, nil
}

// upgradeError turns an Upgrade call's error into the executor's reason,
// wrapping ErrNoUpgradePair when a version lacks the pair.
func upgradeError(err error) error {
	msg := err.Error()
	noPair := false
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == rccv1.ErrorDomain && info.GetReason() == rccv1.ReasonNoUpgradePair {
				noPair = true
			}
		}
	}
	// A coordinator older than the ErrorInfo says it in text only.
	if noPair || strings.Contains(msg, wasmhost.ErrNoUpgrade.Error()) || strings.Contains(msg, "does not export save_state") ||
		strings.Contains(msg, "does not export load_state") {
		return fmt.Errorf("%w: %s", ErrNoUpgradePair, msg)
	}
	return errors.New(msg)
}

// callErr is a coordinator call's error for people: the status message
// of a gRPC error, else the error itself.
func callErr(err error) error {
	if st, ok := status.FromError(err); ok {
		return errors.New(st.Message())
	}
	return err
}

// stateWord is an instance state as rccctl prints it: "running".
func stateWord(s rccv1.InstanceState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "INSTANCE_STATE_"))
}
