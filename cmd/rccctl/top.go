package main

import (
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
	"github.com/rcc-games/rcc/tui/top"
)

func newTopCmd() *cobra.Command {
	var (
		f        serverFlags
		readOnly bool
		once     bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Live dashboard of instances and executors",
		Long: `A live dashboard of the coordinator's instances and executors, fed by its
Watch stream. Keys: arrows or j/k move, / filters (substring or
label=value), s and < > choose the sort column, S reverses it, enter opens
an instance, esc goes back, tab switches tables, p pauses, + and - change
the refresh interval, ? shows every key, q quits. x stops and r renews the
selected instance, d drains the selected executor, each after a
confirmation; --read-only hides them.

With --once, or when standard output is not a terminal, it prints one
snapshot (a table, or --output json) and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return usageError{Err: fmt.Errorf("--interval %v: want a positive duration", interval)}
			}
			out, isFile := cmd.OutOrStdout().(*os.File)
			if once || !isFile || !term.IsTerminal(out.Fd()) || f.output == "json" {
				return topOnce(cmd, &f)
			}
			if err := checkOutput(f.output); err != nil {
				return err
			}
			addr, token, err := f.resolve()
			if err != nil {
				return err
			}
			c, err := client.Dial(addr, token)
			if err != nil {
				return err
			}
			defer c.Close()
			m := top.New(cmd.Context(), top.Config{Client: c, Addr: addr, ReadOnly: readOnly, Interval: interval,
				Renderer: lipgloss.NewRenderer(out)})
			p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(cmd.Context()), tea.WithOutput(out), tea.WithInput(cmd.InOrStdin()))
			if _, err := p.Run(); err != nil && cmd.Context().Err() == nil {
				return fmt.Errorf("top: %w", err)
			}
			return nil
		},
	}
	addServerFlags(cmd, &f, true)
	cmd.Flags().BoolVar(&readOnly, "read-only", false, "hide the actions (stop, renew, drain)")
	cmd.Flags().BoolVar(&once, "once", false, "print one snapshot and exit")
	cmd.Flags().DurationVarP(&interval, "interval", "i", time.Second, "refresh interval (+ and - change it)")
	return cmd
}

// topOut is the JSON of `rccctl top --once --output json`.
type topOut struct {
	Executors []executorOut `json:"executors"`
	Instances []instanceOut `json:"instances"`
}

// topOnce prints the executors and the live instances once.
func topOnce(cmd *cobra.Command, f *serverFlags) error {
	ctx, done, c, err := f.dial(cmd)
	if err != nil {
		return err
	}
	defer done()
	xs, err := c.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
	if err != nil {
		return f.callError(err)
	}
	ins, err := c.Instances.List(ctx, &rccv1.ListInstancesRequest{States: []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_PENDING,
		rccv1.InstanceState_INSTANCE_STATE_STARTING, rccv1.InstanceState_INSTANCE_STATE_RUNNING, rccv1.InstanceState_INSTANCE_STATE_STOPPING}})
	if err != nil {
		return f.callError(err)
	}
	now := time.Now()
	if f.output == "json" {
		execs := make([]executorOut, len(xs.Executors))
		for i, x := range xs.Executors {
			execs[i] = executorJSON(x)
		}
		return writeJSON(cmd.OutOrStdout(), topOut{Executors: execs, Instances: instancesJSON(ins.Instances, now)})
	}
	limits := map[string]*rccv1.Limits{}
	return top.WriteSnapshot(cmd.OutOrStdout(), xs.Executors, ins.Instances, func(game string, version uint32) *rccv1.Limits {
		k := fmt.Sprintf("%s@%d", game, version)
		if l, ok := limits[k]; ok {
			return l
		}
		v, err := c.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: game, Version: version})
		if err != nil {
			return nil // the executor defaults
		}
		limits[k] = v.Limits
		return v.Limits
	}, now)
}
