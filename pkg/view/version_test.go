package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestPlaySourceShowsUpgrade: the HUD names the version the instance
// runs. A hot upgrade of the running arena to its double-points variant,
// through the coordinator, turns "arena v1" into "arena v2" on the same
// connection.
func TestPlaySourceShowsUpgrade(t *testing.T) {
	admin, id, _ := arenaServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := play.Join(ctx, admin, play.JoinRequest{Game: "arena", Player: "alice"}, play.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := NewPlaySource(s, "arena")
	defer src.Close()
	var snap world.Snapshot
	var info FrameInfo
	testenv.WaitFor(t, "a frame of version 1", 20*time.Second, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		return info.Ready && len(info.Lines) > 0 && info.Lines[0] == "arena v1"
	})

	v, err := admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: gamebuildtest.ArenaVariant(t, "arena_double_points")})
	if err != nil {
		t.Fatal(err)
	}
	if v.GetVersion().GetVersion() != 2 {
		t.Fatalf("the variant deployed as version %d, want 2", v.GetVersion().GetVersion())
	}
	if _, err := admin.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: id, Version: 2}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the HUD to show version 2", 2*time.Minute, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		return len(info.Lines) > 0 && info.Lines[0] == "arena v2"
	})
	hud := strings.Join(info.Lines, "\n")
	if !strings.Contains(hud, "connected ·") || strings.Contains(hud, "reconnection") || info.Message != "" {
		t.Errorf("after the upgrade, HUD:\n%s\nmessage %q; want connected, no reconnection", hud, info.Message)
	}
	if st := s.Stats(); st.Connects != 1 || st.VersionChanges != 1 || st.Welcome.InstanceID != id {
		t.Errorf("session: %d connects, %d version changes, instance %s; want 1, 1, %s", st.Connects, st.VersionChanges, st.Welcome.InstanceID, id)
	}
}
