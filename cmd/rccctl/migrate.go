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
