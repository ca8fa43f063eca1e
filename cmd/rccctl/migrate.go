package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/cmdline"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newInstanceMigrateCmd() *cobra.Command {
	var f serverFlags
	var to string
	cmd := &cobra.Command{
		Use:               "migrate ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, false)),
		Short:             "Move a running instance to another executor, its players with it",
		Long: "Move a running instance to another executor while its players play: its executor\n" +
			"snapshots it between two frames and hands it and its players over to the target\n" +
			"(--to, or the live executor with room and the fewest instances). Prints the instance\n" +
			"on its new executor; if the move fails, the instance runs where it was and the\n" +
			"command exits 1 saying why.",
		Args: cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				start := time.Now()
				in, err := c.Instances.Migrate(ctx, &rccv1.MigrateInstanceRequest{Id: args[0], ToExecutor: to})
				if err != nil {
					return err
				}
				if f.output == "json" {
					return writeJSON(cmd.OutOrStdout(), instanceJSON(in, time.Now()))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s on %s (%s), moved in %v\n", in.Id, stateName(in.State), in.ExecutorId, in.WsUrl,
					time.Since(start).Round(time.Millisecond))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the target executor's id (default: the coordinator picks one)")
	addServerFlags(cmd, &f, true)
	_ = cmd.RegisterFlagCompletionFunc("to", completeExecutorIDs(&f))
	return cmd
}

func newInstanceUpgradeCmd() *cobra.Command {
	var f serverFlags
	var version uint32
	cmd := &cobra.Command{
		Use:               "upgrade ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, false)),
		Short:             "Change a running instance to another version of its game, its players connected",
		Long: "Change a running instance to another version of its game (--version, default the latest)\n" +
			"while its players play: the running version's save_state output goes to the new version's\n" +
			"load_state (docs/abi.md). Prints the instance on its new version once that version has run\n" +
			"its first frames; if the versions lack the pair, load_state fails or the new version fails\n" +
			"in its first frames, the instance goes on with its old version and the command exits 1\n" +
			"saying why.",
		Args: cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				start := time.Now()
				in, err := c.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: args[0], Version: version})
				if err != nil {
					return err
				}
				if f.output == "json" {
					return writeJSON(cmd.OutOrStdout(), instanceJSON(in, time.Now()))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s at version %d, upgraded in %v\n", in.Id, stateName(in.State), in.Version,
					time.Since(start).Round(time.Millisecond))
				return nil
			})
		},
	}
	cmd.Flags().Uint32Var(&version, "version", 0, "the version to change to (default: the game's latest)")
	addServerFlags(cmd, &f, true)
	return cmd
}
