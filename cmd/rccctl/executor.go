package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newExecutorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "executor",
		Aliases: []string{"executors"},
		Short:   "List, drain and undrain executors",
	}
	cmd.AddCommand(newExecutorLsCmd(), newExecutorDrainCmd(), newExecutorUndrainCmd())
	return cmd
}

func executorStateName(s rccv1.ExecutorState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EXECUTOR_STATE_"))
}

func newExecutorLsCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List executors with their live stats",
		Args:  cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, done, c, err := f.dial(cmd)
			if err != nil {
				return err
			}
			defer done()
			res, err := c.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
			if err != nil {
				return f.callError(err)
			}
			if f.output == "json" {
				out := make([]executorOut, len(res.Executors))
				for i, x := range res.Executors {
					out[i] = executorJSON(x)
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tINSTANCES\tPLAYERS\tTICK P99\tMEMORY\tLAST HEARTBEAT\tWS URL")
			for _, x := range res.Executors {
				s := x.Stats
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f ms\t%s\t%s ago\t%s\n", x.Id, x.Name, executorStateName(x.State), x.Assigned,
					s.GetPlayers(), s.GetTickP99Ms(), humanBytes(uint64(max(s.GetMemoryBytes(), 0))),
					shortDuration(now.Sub(x.LastHeartbeat.AsTime())), x.WsUrl)
			}
			return tw.Flush()
		},
	}
	addServerFlags(cmd, &f, true)
	return cmd
}

func newExecutorDrainCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:               "drain ID",
		ValidArgsFunction: onlyFirst(completeExecutorIDs(&f)),
		Short:             "Place no new instances on an executor; running ones finish",
		Args:              cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, done, c, err := f.dial(cmd)
			if err != nil {
				return err
			}
			defer done()
			x, err := c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: args[0]})
			if err != nil {
				return f.callError(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), executorJSON(x))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) %s, %d instances still assigned\n", x.Id, x.Name, executorStateName(x.State), x.Assigned)
			return nil
		},
	}
	addServerFlags(cmd, &f, true)
	return cmd
}

func newExecutorUndrainCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:               "undrain ID",
		ValidArgsFunction: onlyFirst(completeExecutorIDs(&f)),
		Short:             "Place new instances on a draining executor again",
		Args:              cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, done, c, err := f.dial(cmd)
			if err != nil {
				return err
			}
			defer done()
			x, err := c.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: args[0]})
			if err != nil {
				return f.callError(err)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), executorJSON(x))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) %s, %d instances assigned\n", x.Id, x.Name, executorStateName(x.State), x.Assigned)
			return nil
		},
	}
	addServerFlags(cmd, &f, true)
	return cmd
}
