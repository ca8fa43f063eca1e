package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/cmdline"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newInstanceShadowCmd() *cobra.Command {
	var f serverFlags
	var version, frames uint32
	var dur time.Duration
	var detach bool
	cmd := &cobra.Command{
		Use:               "shadow ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, false)),
		Short:             "Run another version of a game beside a running instance and compare their states",
		Long: "Run a candidate version (--version, default the game's latest) beside a running instance,\n" +
			"on the same joins, leaves and inputs, without its players seeing it, for --frames frames or\n" +
			"--for a duration (at most 10m; neither: 600 frames). The candidate starts from a snapshot of\n" +
			"the instance when both run the same module bytes and limits, else from the running\n" +
			"version's save_state given to its load_state, as an upgrade would (docs/snapshots.md).\n" +
			"The command waits for the run to end and prints the first frame whose state bytes differ\n" +
			"(or none), where they differ, and the fuel and frame time of both sides. It exits 1 when a\n" +
			"frame differed or the candidate failed (load_state refused, a trap, fuel exhausted, left\n" +
			"behind), printing the report all the same; the instance and its players are not affected.\n" +
			"Unless --timeout is given, the command waits for the run's length and a minute more.\n" +
			"With --detach it returns once the run is ordered; the outcome is then an event \"shadow\"\n" +
			"in the instance's log (rccctl instance logs ID).",
		Args: cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dur < 0 || dur > 10*time.Minute {
				return usageError{Err: fmt.Errorf("--for %v: want at most 10m", dur)}
			}
			if !cmd.Flags().Changed("timeout") && !detach {
				// The run's own length (its frames at 60 a second), and a
				// minute for the candidate's fetch, compile and start.
				run := dur
				if frames > 0 || dur == 0 {
					run = max(run, time.Duration(max(frames, 600))*time.Second/60)
				}
				f.timeout = max(f.timeout, min(run, 10*time.Minute)+time.Minute)
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				rep, err := c.Instances.Shadow(ctx, &rccv1.ShadowInstanceRequest{Id: args[0], Version: version,
					Frames: frames, DurationMs: uint64(dur.Milliseconds()), Detach: detach})
				if err != nil {
					return err
				}
				if rep.Detached {
					if f.output == "json" {
						return writeJSON(cmd.OutOrStdout(), shadowOrderOut{InstanceID: rep.InstanceId, LiveVersion: rep.LiveVersion,
							Version: rep.Version, Detached: true})
					}
					_, err := fmt.Fprintf(cmd.OutOrStdout(), "shadow run of version %d beside instance %s (version %d) ordered; its outcome goes to the instance's log: rccctl instance logs %s\n",
						rep.Version, rep.InstanceId, rep.LiveVersion, rep.InstanceId)
					return err
				}
				if f.output == "json" {
					err = writeJSON(cmd.OutOrStdout(), shadowJSON(rep))
				} else {
					err = writeShadowTable(cmd.OutOrStdout(), rep)
				}
				if err != nil {
					return err
				}
				if rep.Differs || rep.Failure != "" {
					return silentExit(exitFail)
				}
				return nil
			})
		},
	}
	cmd.Flags().Uint32Var(&version, "version", 0, "the candidate version (default: the game's latest)")
	cmd.Flags().Uint32Var(&frames, "frames", 0, "how many frames to compare (default 600 when --for is not given)")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long to run, at most 10m (the run ends at --frames or --for, the first reached)")
	cmd.Flags().BoolVar(&detach, "detach", false, "return once the run is ordered; its outcome goes to the instance's log")
	addServerFlags(cmd, &f, true)
	return cmd
}

// shadowOrderOut is the answer to a detached shadow run (docs/cli.md,
// "Shadow report").
type shadowOrderOut struct {
	InstanceID  string `json:"instance_id"`
	LiveVersion uint32 `json:"live_version"`
	Version     uint32 `json:"version"`
	Detached    bool   `json:"detached"`
}

// shadowSideOut is one side of a shadow run.
type shadowSideOut struct {
	FuelP50   int64   `json:"fuel_p50"`
	FuelP99   int64   `json:"fuel_p99"`
	TickP50ms float64 `json:"tick_p50_ms"`
	TickP99ms float64 `json:"tick_p99_ms"`
}

// shadowOut is a shadow run's report (docs/cli.md, "Shadow report").
type shadowOut struct {
	InstanceID          string        `json:"instance_id"`
	LiveVersion         uint32        `json:"live_version"`
	Version             uint32        `json:"version"`
	Start               string        `json:"start"`
	FromFrame           uint64        `json:"from_frame"`
	Frames              uint32        `json:"frames"`
	Differs             bool          `json:"differs"`
	DiffFrames          uint32        `json:"diff_frames"`
	FirstDiffFrame      uint64        `json:"first_diff_frame"`
	DiffOffset          uint32        `json:"diff_offset"`
	LiveStateBytes      uint32        `json:"live_state_bytes"`
	CandidateStateBytes uint32        `json:"candidate_state_bytes"`
	Live                shadowSideOut `json:"live"`
	Candidate           shadowSideOut `json:"candidate"`
	Ended               string        `json:"ended"`
	Failure             string        `json:"failure"`
	FailureReason       string        `json:"failure_reason"`
	ElapsedMs           float64       `json:"elapsed_ms"`
}

func shadowJSON(r *rccv1.ShadowReport) shadowOut {
	side := func(s *rccv1.ShadowSide) shadowSideOut {
		return shadowSideOut{FuelP50: s.GetFuelP50(), FuelP99: s.GetFuelP99(), TickP50ms: round3(s.GetTickP50Ms()), TickP99ms: round3(s.GetTickP99Ms())}
	}
	return shadowOut{InstanceID: r.InstanceId, LiveVersion: r.LiveVersion, Version: r.Version, Start: r.Start,
		FromFrame: r.FromFrame, Frames: r.Frames, Differs: r.Differs, DiffFrames: r.DiffFrames,
		FirstDiffFrame: r.FirstDiffFrame, DiffOffset: r.DiffOffset, LiveStateBytes: r.LiveBytes,
		CandidateStateBytes: r.CandidateBytes, Live: side(r.Live), Candidate: side(r.Candidate),
		Ended: r.Ended, Failure: r.Failure, FailureReason: r.FailureReason, ElapsedMs: round3(r.ElapsedMs)}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func writeShadowTable(w io.Writer, r *rccv1.ShadowReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "instance\t%s\n", r.InstanceId)
	fmt.Fprintf(tw, "started\tfrom a %s at frame %d\n", startWord(r.Start), r.FromFrame)
	fmt.Fprintf(tw, "compared\t%d frames (ended: %s)\n", r.Frames, r.Ended)
	switch {
	case r.Differs:
		fmt.Fprintf(tw, "first difference\tframe %d, byte %d (live %d bytes, candidate %d); %d of %d frames differ\n",
			r.FirstDiffFrame, r.DiffOffset, r.LiveBytes, r.CandidateBytes, r.DiffFrames, r.Frames)
	default:
		fmt.Fprintf(tw, "first difference\tnone\n")
	}
	if r.Failure != "" {
		fmt.Fprintf(tw, "candidate failed\t%s\n", r.Failure)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "SIDE\tVERSION\tFUEL P50\tFUEL P99\tTICK P50\tTICK P99\n")
	for _, s := range []struct {
		name    string
		version uint32
		side    *rccv1.ShadowSide
	}{{"live", r.LiveVersion, r.Live}, {"candidate", r.Version, r.Candidate}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3fms\t%.3fms\n", s.name, s.version, s.side.GetFuelP50(), s.side.GetFuelP99(),
			s.side.GetTickP50Ms(), s.side.GetTickP99Ms())
	}
	return tw.Flush()
}

func startWord(s string) string {
	if s == "load_state" {
		return "save_state/load_state hand-over"
	}
	return s
}
