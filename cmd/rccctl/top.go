package main

import (
	"context"
	"fmt"
	"io"
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
			c, err := f.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			m := top.New(cmd.Context(), top.Config{Client: c, Addr: f.addr, ReadOnly: readOnly, Interval: interval,
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

// snapshot is what top --once prints: the executors, the live instances
// and, for a table, the limits of the versions they run.
type snapshot struct {
	executors []*rccv1.Executor
	instances []*rccv1.Instance
	// limits are by game@version; a version missing has the executor's
	// defaults.
	limits map[string]*rccv1.Limits
}

// topOnce prints the executors and the live instances once.
func topOnce(cmd *cobra.Command, f *serverFlags) error {
	return remote(f, func(ctx context.Context, c *client.Client, _ []string) (snapshot, error) {
		xs, err := c.ListExecutors(ctx)
		if err != nil {
			return snapshot{}, err
		}
		ins, err := c.ListInstances(ctx, &rccv1.ListInstancesRequest{States: []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_PENDING,
			rccv1.InstanceState_INSTANCE_STATE_STARTING, rccv1.InstanceState_INSTANCE_STATE_RUNNING, rccv1.InstanceState_INSTANCE_STATE_STOPPING}})
		if err != nil {
			return snapshot{}, err
		}
		s := snapshot{executors: xs, instances: ins, limits: map[string]*rccv1.Limits{}}
		if f.output == "json" {
			return s, nil
		}
		for _, in := range s.instances {
			k := versionKey(in.Game, in.Version)
			if _, ok := s.limits[k]; ok {
				continue
			}
			v, err := c.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: in.Game, Version: in.Version})
			if err != nil {
				continue // the executor defaults
			}
			s.limits[k] = v.Limits
		}
		return s, nil
	}, view[snapshot]{json: func(s snapshot, now time.Time) any {
		return topOut{Executors: executorsJSON(s.executors), Instances: instancesJSON(s.instances, now)}
	}, table: writeSnapshot})(cmd, nil)
}

// writeSnapshot writes a snapshot as top --once prints it.
func writeSnapshot(w io.Writer, s snapshot, now time.Time) error {
	return top.WriteSnapshot(w, s.executors, s.instances, func(game string, version uint32) *rccv1.Limits {
		return s.limits[versionKey(game, version)]
	}, now)
}

func versionKey(game string, version uint32) string { return fmt.Sprintf("%s@%d", game, version) }
