package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// addGameServerCmds adds the game commands that talk to a coordinator.
func addGameServerCmds(cmd *cobra.Command) {
	cmd.AddCommand(newGameDeployCmd(), newGameLsCmd(), newGameVersionsCmd(), newGameRmCmd())
}

func newGameDeployCmd() *cobra.Command {
	var f serverFlags
	var name, assets, description string
	var limits limitFlags
	var snapshotHz uint32
	var checkpointEvery time.Duration
	var upgradeRunning bool
	cmd := &cobra.Command{
		Use:   "deploy FILE --name NAME",
		Short: "Upload a module as the next version of a game",
		Long: `Upload a module as the next version of a game. The coordinator checks it
against the guest ABI and refuses it, saying why, if it does not conform.
--init-fuel, --frame-fuel and --memory-mib set the version's sandbox limits
(unset: the executor's defaults); try them first with rccctl game run.
--snapshot-hz sends the players fewer states a second than the game ticks.
--checkpoint-every makes the version's instances ship a checkpoint that often,
to resume on another executor if theirs is lost (a spawn may set its own).
Deploying the same module, assets and limits again creates no version.
--upgrade-running then hot-upgrades every running instance of the game to
the deployed version (rccctl instance upgrade, docs/abi.md "Hot upgrade"),
its players connected, and prints each instance's result; an instance whose
upgrade fails (refused, or rolled back by its executor) goes on with its old
version, and the command exits 1.`,
		Args: cmdline.Args("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageError{Err: fmt.Errorf("--name is required")}
			}
			if err := limits.check(); err != nil {
				return err
			}
			ckpt, err := checkpointMs(checkpointEvery)
			if err != nil {
				return err
			}
			module, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var archive []byte
			if assets != "" {
				if archive, err = os.ReadFile(assets); err != nil {
					return err
				}
			}
			start := time.Now()
			req := client.DeployRequest{Game: name, Module: module, Assets: archive, Description: description,
				InitFuel: limits.initFuel, FrameFuel: limits.frameFuel, MemoryLimitPages: limits.pages(),
				SnapshotHz: snapshotHz, CheckpointEveryMs: ckpt}
			v := view[*rccv1.UploadVersionResponse]{json: jsonOf(deployJSON), table: func(w io.Writer, res *rccv1.UploadVersionResponse, now time.Time) error {
				v := res.Version
				if res.Unchanged {
					_, err := fmt.Fprintf(w, "%s version %d unchanged (same module and limits, sha256 %s)\n", v.Game, v.Version, shortSHA(v.ModuleSha256))
					return err
				}
				_, err := fmt.Fprintf(w, "deployed %s version %d (sha256 %s, %s, limits %s) in %v\n", v.Game, v.Version, shortSHA(v.ModuleSha256),
					humanBytes(uint64(v.ModuleSize)), formatLimits(v.Limits), now.Sub(start).Round(time.Millisecond))
				return err
			}}
			if upgradeRunning {
				return deployAndUpgrade(cmd, &f, req, v)
			}
			return remote(&f, func(ctx context.Context, c *client.Client, _ []string) (*rccv1.UploadVersionResponse, error) {
				return c.Deploy(ctx, req)
			}, v)(cmd, args)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "game name (required)")
	_ = cmd.RegisterFlagCompletionFunc("name", completeGames(&f))
	cmd.Flags().StringVar(&assets, "assets", "", "assets archive served read-only at /assets")
	cmd.Flags().StringVar(&description, "description", "", "note kept with the version")
	addLimitFlags(cmd, &limits)
	cmd.Flags().Uint32Var(&snapshotHz, "snapshot-hz", 0, "states sent to the players per second (default 30 to players on deltas and every tick to the others; at or above the tick rate: every tick; a spawn may set its own)")
	cmd.Flags().DurationVar(&checkpointEvery, "checkpoint-every", 0, "the instances' default checkpoint interval, to resume on another executor if theirs is lost (default none)")
	cmd.Flags().BoolVar(&upgradeRunning, "upgrade-running", false, "then hot-upgrade every running instance of the game to the deployed version; exit 1 if any upgrade fails")
	addServerFlags(cmd, &f, true)
	return cmd
}

func newGameLsCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List deployed games",
		Args:  cmdline.Args(),
		RunE: remote(&f, func(ctx context.Context, c *client.Client, _ []string) ([]*rccv1.Game, error) {
			return c.ListGames(ctx)
		}, view[[]*rccv1.Game]{json: jsonList(gameJSON), table: writeGameTable}),
	}
	addServerFlags(cmd, &f, true)
	return cmd
}

func newGameVersionsCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:               "versions GAME",
		ValidArgsFunction: onlyFirst(completeGames(&f)),
		Short:             "List the versions of a game",
		Long: `List the versions of a game, oldest first. LIMITS shows the sandbox
budgets a version sets (init fuel, fuel per frame, memory cap); what it does
not set is the executor's default, and a version that sets none shows
"default".`,
		Args: cmdline.Args("GAME"),
		RunE: remote(&f, func(ctx context.Context, c *client.Client, args []string) ([]*rccv1.GameVersion, error) {
			return c.ListVersions(ctx, args[0])
		}, view[[]*rccv1.GameVersion]{json: jsonOf(versionsJSON), table: writeVersionTable}),
	}
	addServerFlags(cmd, &f, true)
	return cmd
}

func newGameRmCmd() *cobra.Command {
	var f serverFlags
	var version uint32
	cmd := &cobra.Command{
		Use:               "rm GAME",
		ValidArgsFunction: onlyFirst(completeGames(&f)),
		Short:             "Remove a game, or one version of it, that nothing runs",
		Long: `Remove every version of GAME, or with --version only that one, when no live
instance (pending, starting, running or stopping) runs it; the coordinator
refuses otherwise, removing nothing. Ended instances stay listed. Removing
the latest version makes the one before it the latest (join and spawn use
it), and the next deploy takes the removed number again.`,
		Example: `  rccctl game rm arena --version 3   # a bad deploy: back to version 2
  rccctl game rm old-game`,
		Args: cmdline.Args("GAME"),
		RunE: remote(&f, func(ctx context.Context, c *client.Client, args []string) ([]*rccv1.GameVersion, error) {
			res, err := c.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{Game: args[0], Version: version})
			return res.GetVersions(), err
		}, view[[]*rccv1.GameVersion]{json: jsonOf(versionsJSON), table: func(w io.Writer, vs []*rccv1.GameVersion, _ time.Time) error {
			for _, v := range vs {
				if _, err := fmt.Fprintf(w, "removed %s version %d (sha256 %s)\n", v.Game, v.Version, shortSHA(v.ModuleSha256)); err != nil {
					return err
				}
			}
			return nil
		}}),
	}
	cmd.Flags().Uint32Var(&version, "version", 0, "remove only this version (default every version: the game)")
	_ = cmd.RegisterFlagCompletionFunc("version", completeVersions(&f))
	addServerFlags(cmd, &f, true)
	return cmd
}

// writeGameTable writes games as game ls prints them.
func writeGameTable(w io.Writer, gs []*rccv1.Game, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLATEST\tVERSIONS\tUPDATED")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s ago\n", g.Name, g.LatestVersion, g.VersionCount, shortDuration(now.Sub(g.UpdatedAt.AsTime())))
	}
	return tw.Flush()
}

// writeVersionTable writes versions as game versions prints them.
func writeVersionTable(w io.Writer, vs []*rccv1.GameVersion, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMODULE SHA256\tSIZE\tASSETS\tLIMITS\tCREATED\tDESCRIPTION")
	for _, v := range vs {
		assets := "-"
		if v.AssetsSha256 != "" {
			assets = humanBytes(uint64(v.AssetsSize))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, shortSHA(v.ModuleSha256), humanBytes(uint64(v.ModuleSize)), assets,
			formatLimits(v.Limits), v.CreatedAt.AsTime().In(now.Location()).Format(time.DateTime), v.Description)
	}
	return tw.Flush()
}

// checkpointMs checks a --checkpoint-every and turns it into milliseconds.
func checkpointMs(d time.Duration) (uint32, error) {
	switch {
	case d == 0:
		return 0, nil
	case d < 100*time.Millisecond || d > 24*time.Hour || d%time.Millisecond != 0:
		return 0, usageError{Err: fmt.Errorf("--checkpoint-every %v: want 100ms to 24h, in whole milliseconds", d)}
	}
	return uint32(d / time.Millisecond), nil
}
