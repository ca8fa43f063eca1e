package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/cmdline"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newInstanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "instance",
		Aliases: []string{"instances"},
		Short:   "Spawn, list, inspect, stop and renew game instances; show their logs and fetch their input logs",
	}
	cmd.AddCommand(newInstanceSpawnCmd(), newInstanceLsCmd(), newInstanceGetCmd(), newInstanceStopCmd(), newInstanceRenewCmd(),
		newInstanceInputLogCmd(), newInstanceLogsCmd(), newInstanceMigrateCmd(), newInstanceUpgradeCmd(),
		newInstanceShadowCmd())
	return cmd
}

// stateName is an instance state for people: "running".
func stateName(s rccv1.InstanceState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "INSTANCE_STATE_"))
}

func parseState(s string) (rccv1.InstanceState, error) {
	v, ok := rccv1.InstanceState_value["INSTANCE_STATE_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, usageError{Err: fmt.Errorf("state %q: want pending, starting, running, stopping, stopped, failed or lost", s)}
	}
	return rccv1.InstanceState(v), nil
}

// leaseLeft is the time an instance has left, for people.
func leaseLeft(in *rccv1.Instance, now time.Time) string {
	if terminal(in.State) {
		return "-"
	}
	left := in.LeaseExpiresAt.AsTime().Sub(now)
	if left <= 0 {
		return "expired"
	}
	return shortDuration(left)
}

// instanceView prints one instance as instance get does.
var instanceView = view[*rccv1.Instance]{
	json:  func(in *rccv1.Instance, now time.Time) any { return instanceJSON(in, now) },
	table: writeInstance,
}

// writeInstance writes one instance for people, a field a line.
func writeInstance(w io.Writer, in *rccv1.Instance, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("id", in.Id)
	row("game", fmt.Sprintf("%s version %d", in.Game, in.Version))
	row("state", stateName(in.State))
	if in.Reason != "" {
		row("reason", in.Reason)
	}
	if in.ExecutorId != "" {
		row("executor", in.ExecutorId)
		row("ws url", in.WsUrl)
	}
	row("players", fmt.Sprintf("%d of %d (%d seats reserved)", in.Players, in.MaxPlayers, in.Reserved))
	if st := in.Stats; st != nil {
		row("tick", fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", st.TickP50Ms, st.TickP99Ms))
		row("memory", humanBytes(uint64(max(st.MemoryBytes, 0))))
		row("fuel", fmt.Sprintf("p50 %s, max %s per frame", shortCount(uint64(max(st.FuelP50, 0))), shortCount(uint64(max(st.FuelMax, 0)))))
		row("frames", fmt.Sprintf("%d (%d overruns)", st.Frames, st.Overruns))
		row("reported", shortDuration(max(now.Sub(st.ReportedAt.AsTime()), 0))+" ago")
	}
	row("lease", fmt.Sprintf("%s left of %ds (ends %s)", leaseLeft(in, now), in.LeaseSeconds, in.LeaseExpiresAt.AsTime().In(now.Location()).Format(time.DateTime)))
	if len(in.Labels) > 0 {
		row("labels", labelString(in.Labels))
	}
	if len(in.Params.GetFields()) > 0 {
		b, _ := protojson.Marshal(in.Params)
		row("params", string(b))
	}
	row("seed", fmt.Sprint(in.Seed))
	if in.Respawn {
		row("respawn", "yes")
	}
	if in.RespawnedFrom != "" {
		row("respawned from", in.RespawnedFrom)
	}
	if in.Record {
		row("input log", "recorded (rccctl instance input-log "+in.Id+")")
	}
	if in.CheckpointEveryMs > 0 {
		last := "none stored yet"
		if in.CheckpointFrame > 0 {
			last = fmt.Sprintf("the last at frame %d", in.CheckpointFrame)
		}
		row("checkpoints", fmt.Sprintf("every %v, %s", time.Duration(in.CheckpointEveryMs)*time.Millisecond, last))
	}
	row("created", in.CreatedAt.AsTime().In(now.Location()).Format(time.DateTime))
	return tw.Flush()
}

// writeInstanceTable writes instances as instance ls prints them.
func writeInstanceTable(w io.Writer, ins []*rccv1.Instance, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(instanceColumns, "\t"))
	for _, in := range ins {
		fmt.Fprintln(tw, strings.Join(instanceRow(in, now), "\t"))
	}
	return tw.Flush()
}

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func newInstanceSpawnCmd() *cobra.Command {
	var f serverFlags
	var (
		version, maxPlayers uint32
		lease               time.Duration
		labels, params      []string
		paramsJSON          string
		seed                uint64
		respawn, record     bool
		snapshotHz          uint32
		checkpointEvery     time.Duration
	)
	cmd := &cobra.Command{
		Use:               "spawn GAME",
		ValidArgsFunction: onlyFirst(completeGames(&f)),
		Short:             "Start an instance of a game (pending until an executor can take it)",
		Args:              cmdline.Args("GAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			lbl, err := parseLabels(labels)
			if err != nil {
				return err
			}
			if lease < 0 || lease%time.Second != 0 {
				return usageError{Err: fmt.Errorf("--lease %v: want a positive whole number of seconds", lease)}
			}
			ckpt, err := checkpointMs(checkpointEvery)
			if err != nil {
				return err
			}
			ps, err := spawnParams(paramsJSON, params)
			if err != nil {
				return err
			}
			return remote(&f, func(ctx context.Context, c *client.Client, args []string) (*rccv1.Instance, error) {
				return c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: args[0], Version: version, MaxPlayers: maxPlayers,
					LeaseSeconds: uint32(lease / time.Second), Labels: lbl, Params: ps, Seed: seed, Respawn: respawn,
					Record: record, SnapshotHz: snapshotHz, CheckpointEveryMs: ckpt})
			}, instanceView)(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.Uint32Var(&version, "version", 0, "game version (default the latest)")
	fl.Uint32Var(&maxPlayers, "max-players", 0, "most players (default 16)")
	fl.DurationVar(&lease, "lease", 0, "lease: the instance stops after it unless renewed (default 1h)")
	fl.StringArrayVarP(&labels, "label", "l", nil, "label key=value (repeatable)")
	fl.StringArrayVar(&params, "param", nil, "game parameter key=value, value parsed as JSON when it is (repeatable)")
	fl.StringVar(&paramsJSON, "params", "", "game parameters as a JSON object")
	fl.Uint64Var(&seed, "seed", 0, "seed (default random)")
	fl.BoolVar(&respawn, "respawn", false, "respawn on another executor if its executor is lost")
	fl.BoolVar(&record, "record", false, "record the instance's input log on its executor (fetch it with instance input-log)")
	fl.Uint32Var(&snapshotHz, "snapshot-hz", 0, "states sent to the players per second (default the version's, or 30 to players on deltas and every tick to the others; at or above the tick rate: every tick)")
	fl.DurationVar(&checkpointEvery, "checkpoint-every", 0, "ship a checkpoint this often, to resume on another executor if its executor is lost (default the version's, or none)")
	addServerFlags(cmd, &f, true)
	return cmd
}

func newInstanceLsCmd() *cobra.Command {
	var f serverFlags
	var (
		game, executor string
		states, labels []string
		all, watch     bool
		limit          uint32
	)
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List instances (live ones unless --all or --state), or follow their changes with --watch",
		Long: `List instances, newest first: the live ones (pending, starting, running,
stopping) unless --all or --state says otherwise.

With --watch, print the live instances that match, then every change to a
matching instance as it happens (a table row each, or one JSON object per
line under --output json), until interrupted.`,
		Args: cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &rccv1.ListInstancesRequest{Game: game, ExecutorId: executor, Limit: limit}
			var err error
			if req.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			for _, s := range states {
				for _, p := range strings.Split(s, ",") {
					st, err := parseState(p)
					if err != nil {
						return err
					}
					req.States = append(req.States, st)
				}
			}
			watchReq := &rccv1.ListInstancesRequest{Game: req.Game, ExecutorId: req.ExecutorId, Labels: req.Labels, States: req.States}
			if len(req.States) == 0 && !all {
				req.States = []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_PENDING, rccv1.InstanceState_INSTANCE_STATE_STARTING,
					rccv1.InstanceState_INSTANCE_STATE_RUNNING, rccv1.InstanceState_INSTANCE_STATE_STOPPING}
			}
			if watch && (all || limit != 0) {
				return usageError{Err: fmt.Errorf("--watch follows changes from now on: it takes no --all or --limit")}
			}
			if watch {
				// The stream outlives --timeout; it ends with the command.
				return f.withClient(cmd, func(_ context.Context, c *client.Client) error {
					p := &watchPrinter{w: cmd.OutOrStdout(), json: f.output == "json"}
					keep := func(in *rccv1.Instance) bool { return matchInstance(watchReq, in) }
					return watchInstances(cmd.Context(), c, false, p, keep, nil)
				})
			}
			return remote(&f, func(ctx context.Context, c *client.Client, _ []string) ([]*rccv1.Instance, error) {
				return c.ListInstances(ctx, req)
			}, view[[]*rccv1.Instance]{json: func(ins []*rccv1.Instance, now time.Time) any { return instancesJSON(ins, now) },
				table: writeInstanceTable})(cmd, nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&game, "game", "", "only this game")
	fl.StringVar(&executor, "executor", "", "only on this executor id")
	fl.StringSliceVar(&states, "state", nil, "only these states (comma-separated)")
	fl.StringArrayVarP(&labels, "label", "l", nil, "only instances with label key=value (repeatable)")
	fl.BoolVarP(&all, "all", "a", false, "include stopped, failed and lost instances")
	fl.Uint32Var(&limit, "limit", 0, "at most this many (newest first)")
	fl.BoolVarP(&watch, "watch", "w", false, "follow changes as they happen (JSON Lines under --output json)")
	_ = cmd.RegisterFlagCompletionFunc("game", completeGames(&f))
	_ = cmd.RegisterFlagCompletionFunc("executor", completeExecutorIDs(&f))
	_ = cmd.RegisterFlagCompletionFunc("state", completeWords(instanceStateWords...))
	addServerFlags(cmd, &f, true)
	return cmd
}

func newInstanceGetCmd() *cobra.Command {
	var f serverFlags
	var watch bool
	cmd := &cobra.Command{
		Use:               "get ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, true)),
		Short:             "Show one instance, or follow its changes with --watch",
		Long: `Show one instance.

With --watch, print it and then every change to it as it happens (a table
row each, or one JSON object per line under --output json), until it ends
(stopped, failed or lost) or the command is interrupted.`,
		Args: cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if watch {
				return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
					return watchInstance(cmd.Context(), ctx, c, args[0], &watchPrinter{w: cmd.OutOrStdout(), json: f.output == "json"})
				})
			}
			return remote(&f, func(ctx context.Context, c *client.Client, args []string) (*rccv1.Instance, error) {
				return c.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: args[0]})
			}, instanceView)(cmd, args)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow its changes until it ends (JSON Lines under --output json)")
	addServerFlags(cmd, &f, true)
	return cmd
}

// watchInstance prints instance id as it is and then each change, until it
// ends. The Watch stream opens first (in ctx) and the instance is read (in
// callCtx) once its headers say it is subscribed, so no change between the
// read and the stream is missed.
func watchInstance(ctx, callCtx context.Context, c *client.Client, id string, p *watchPrinter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Watch.Watch(ctx, &rccv1.WatchRequest{SkipSnapshot: true})
	if err != nil {
		return err
	}
	subscribed := make(chan error, 1)
	go func() { _, err := stream.Header(); subscribed <- err }()
	select {
	case err := <-subscribed:
		if err != nil {
			return err
		}
	case <-callCtx.Done():
		return fmt.Errorf("watch %s: %w", id, callCtx.Err())
	}
	in, err := c.Instances.Get(callCtx, &rccv1.GetInstanceRequest{Id: id})
	if err != nil {
		return err
	}
	if err := p.print(time.Now(), true, in); err != nil || terminal(in.State) {
		return err
	}
	last := func(in *rccv1.Instance) bool { return terminal(in.State) }
	return follow(ctx, stream, p, func(in *rccv1.Instance) bool { return in.Id == id }, last)
}

func newInstanceStopCmd() *cobra.Command {
	var f serverFlags
	var reason string
	cmd := &cobra.Command{
		Use:               "stop ID...",
		ValidArgsFunction: completeInstanceIDs(&f, false),
		Short:             "Stop instances",
		Args:              cmdline.Args("ID..."),
		// Each stop is printed as it is done, so that when one fails the
		// table shows those before it.
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				out := []instanceOut{}
				now := time.Now()
				for _, id := range args {
					in, err := c.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: id, Reason: reason})
					if err != nil {
						return err
					}
					if f.output == "json" {
						out = append(out, instanceJSON(in, now))
						continue
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", in.Id, stateName(in.State))
				}
				if f.output == "json" {
					return writeJSON(cmd.OutOrStdout(), out)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept with the instance; default \"stopped by operator\")")
	addServerFlags(cmd, &f, true)
	return cmd
}

func newInstanceRenewCmd() *cobra.Command {
	var f serverFlags
	var lease time.Duration
	cmd := &cobra.Command{
		Use:               "renew ID",
		ValidArgsFunction: onlyFirst(completeInstanceIDs(&f, false)),
		Short:             "Extend an instance's lease from now",
		Args:              cmdline.Args("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lease < 0 || lease%time.Second != 0 {
				return usageError{Err: fmt.Errorf("--lease %v: want a positive whole number of seconds", lease)}
			}
			return remote(&f, func(ctx context.Context, c *client.Client, args []string) (*rccv1.Instance, error) {
				return c.Instances.RenewLease(ctx, &rccv1.RenewLeaseRequest{Id: args[0], LeaseSeconds: uint32(lease / time.Second)})
			}, view[*rccv1.Instance]{json: instanceView.json, table: func(w io.Writer, in *rccv1.Instance, now time.Time) error {
				_, err := fmt.Fprintf(w, "%s lease renewed: %s left (ends %s)\n", in.Id, leaseLeft(in, now),
					in.LeaseExpiresAt.AsTime().In(now.Location()).Format(time.DateTime))
				return err
			}})(cmd, args)
		},
	}
	cmd.Flags().DurationVar(&lease, "lease", 0, "new lease from now (default the instance's own)")
	addServerFlags(cmd, &f, true)
	return cmd
}

// spawnParams makes a spawn's game parameters from --params (a JSON
// object) and --param key=value pairs (values parsed as JSON when they
// are); nil when both are empty.
func spawnParams(paramsJSON string, params []string) (*structpb.Struct, error) {
	var ps *structpb.Struct
	if paramsJSON != "" {
		ps = &structpb.Struct{}
		if err := protojson.Unmarshal([]byte(paramsJSON), ps); err != nil {
			return nil, usageError{Err: fmt.Errorf("--params: want a JSON object: %v", err)}
		}
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usageError{Err: fmt.Errorf("--param %q: want key=value", p)}
		}
		if ps == nil {
			ps = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		}
		var val any = v
		var js any
		if json.Unmarshal([]byte(v), &js) == nil {
			val = js // numbers, booleans and JSON values keep their type
		}
		sv, err := structpb.NewValue(val)
		if err != nil {
			return nil, usageError{Err: fmt.Errorf("--param %q: %v", p, err)}
		}
		ps.Fields[k] = sv
	}
	return ps, nil
}
