// Command rcc-load puts player load on an executor: N players (sessions of
// pkg/play, the client library rcc-view uses) that join with tickets, send
// inputs at a fixed rate and read every state, and it reports the
// input-to-broadcast latency, the state rate, the bytes per player per
// second and the close codes it saw. Players leave with a normal close at
// the end.
//
// Players ask for Delta frames, as pkg/play does by default
// (--full-states: protocol version 1's full states). With --check, one
// more player per instance on full states is the witness, and every state
// a player reconstructed is compared with the witness's state of the same
// frame; one that differs fails the run.
//
// Against a running executor, it mints tickets with the coordinator's
// signing key:
//
//	rcc-load --url ws://127.0.0.1:7070 --executor-id exec-1 --instance ID \
//	    --key-dir ~/.local/share/rcc/keys --players 50 --duration 30s
//
// With --self it starts an executor in its own process on loopback, with
// as many instances of --module as the players need (--per-instance each):
//
//	rcc-load --self --module pkg/wasmhost/testdata/recorder.wasm --players 200
//
// With --separate as well, that executor runs in a process of its own (a
// child running the hidden `rcc-load serve`, optionally pinned to CPUs
// with --executor-cpus through taskset), and the report adds that
// process's CPU time per state received and its resident memory per
// player, read from /proc: the executor's cost without the load
// generator's.
//
// With the recorder test module (pkg/wasmhost/testdata/recorder.wasm) the
// latency is exact: the time from sending an input to receiving the first
// state that records it. With any other game it is the time from sending an
// input to receiving the second state after it, an upper bound.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes rcc-load with args and returns the exit code: 0 when every
// player connected, 1 when the run failed or some did not, 2 when the
// command line was wrong.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Run(ctx, newRootCmd(), args, stdout, stderr)
}

func newRootCmd() *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:   "rcc-load",
		Short: "Put player load on an executor and report latency, state rate and close codes",
		Args:  cmdline.Args(),
		PreRunE: func(*cobra.Command, []string) error {
			if err := cfg.validate(); err != nil {
				return cmdline.UsageError{Err: err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.addFlags(cmd)
	cmd.AddCommand(newServeCmd())
	return cmd
}

// runLoad runs the load of cfg and writes its report to stdout.
func runLoad(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := load(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if err := rep.write(stdout, cfg.output); err != nil {
		return err
	}
	if rep.Connected < cfg.players {
		return cmdline.ExitCode(cmdline.ExitFail)
	}
	if c := rep.Check; c != nil && (c.Mismatches > 0 || c.States == 0) {
		fmt.Fprintf(stderr, "check failed: %d of %d states differ from the full states (first: %s)\n", c.Mismatches, c.States, c.First)
		return cmdline.ExitCode(cmdline.ExitFail)
	}
	return nil
}
