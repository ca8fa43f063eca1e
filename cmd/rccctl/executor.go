package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
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
		RunE: remote(&f, func(ctx context.Context, c *client.Client, _ []string) ([]*rccv1.Executor, error) {
			return c.ListExecutors(ctx)
		}, view[[]*rccv1.Executor]{json: jsonOf(executorsJSON), table: writeExecutorTable}),
	}
	addServerFlags(cmd, &f, true)
	return cmd
}

// writeExecutorTable writes executors as executor ls prints them.
func writeExecutorTable(w io.Writer, xs []*rccv1.Executor, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tINSTANCES\tPLAYERS\tTICK P99\tMEMORY\tLAST HEARTBEAT\tWS URL")
	for _, x := range xs {
		s := x.Stats
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f ms\t%s\t%s ago\t%s\n", x.Id, x.Name, executorStateName(x.State), x.Assigned,
			s.GetPlayers(), s.GetTickP99Ms(), humanBytes(uint64(max(s.GetMemoryBytes(), 0))),
			shortDuration(now.Sub(x.LastHeartbeat.AsTime())), x.WsUrl)
	}
	return tw.Flush()
}

func newExecutorDrainCmd() *cobra.Command {
	var migrate bool
	cmd := newExecutorStateCmd("drain ID", "Place no new instances on an executor; running ones finish, or move with --migrate", "still assigned",
		func(ctx context.Context, c *client.Client, id string) (*rccv1.Executor, error) {
			return c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: id, Migrate: migrate})
		})
	cmd.Flags().BoolVar(&migrate, "migrate", false,
		"move the running instances to other executors first, their players with them (live migration); returns once they have moved")
	return cmd
}

func newExecutorUndrainCmd() *cobra.Command {
	return newExecutorStateCmd("undrain ID", "Place new instances on a draining executor again", "assigned",
		func(ctx context.Context, c *client.Client, id string) (*rccv1.Executor, error) {
			return c.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: id})
		})
}

// newExecutorStateCmd is a command that changes one executor's state with
// call and prints the executor.
func newExecutorStateCmd(use, short, assigned string, call func(context.Context, *client.Client, string) (*rccv1.Executor, error)) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:               use,
		ValidArgsFunction: onlyFirst(completeExecutorIDs(&f)),
		Short:             short,
		Args:              cmdline.Args("ID"),
		RunE: remote(&f, func(ctx context.Context, c *client.Client, args []string) (*rccv1.Executor, error) {
			return call(ctx, c, args[0])
		}, view[*rccv1.Executor]{json: jsonOf(executorJSON), table: func(w io.Writer, x *rccv1.Executor, _ time.Time) error {
			_, err := fmt.Fprintf(w, "%s (%s) %s, %d instances %s\n", x.Id, x.Name, executorStateName(x.State), x.Assigned, assigned)
			return err
		}}),
	}
	addServerFlags(cmd, &f, true)
	return cmd
}
