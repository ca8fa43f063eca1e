package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Dynamic shell completion: instance ids, executor ids, game names and
// versions asked of the coordinator (with the command's own --addr,
// --token and --context) under completionTimeout, so that a coordinator
// that is away costs a keypress little; fixed words for states and
// output formats.

// completionTimeout bounds one completion's call to the coordinator.
const completionTimeout = 2 * time.Second

type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// withCoordinator runs list against the coordinator f names and offers
// what it returns; nothing when the coordinator does not answer in time.
func withCoordinator(f *serverFlags, list func(ctx context.Context, c *client.Client, args []string) []string) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		c, err := f.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		var out []string
		for _, s := range list(ctx, c, args) {
			if strings.HasPrefix(s, toComplete) {
				out = append(out, s)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// onlyFirst offers complete's words for the first argument only.
func onlyFirst(complete completeFunc) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, toComplete)
	}
}

// completeInstanceIDs offers instance ids with their game and state as
// descriptions; live ones unless all.
func completeInstanceIDs(f *serverFlags, all bool) completeFunc {
	return withCoordinator(f, func(ctx context.Context, c *client.Client, args []string) []string {
		req := &rccv1.ListInstancesRequest{Limit: 200}
		if !all {
			req.States = []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_PENDING, rccv1.InstanceState_INSTANCE_STATE_STARTING,
				rccv1.InstanceState_INSTANCE_STATE_RUNNING, rccv1.InstanceState_INSTANCE_STATE_STOPPING}
		}
		ins, err := c.ListInstances(ctx, req)
		if err != nil {
			return nil
		}
		taken := map[string]bool{}
		for _, a := range args {
			taken[a] = true
		}
		var out []string
		for _, in := range ins {
			if !taken[in.Id] {
				out = append(out, fmt.Sprintf("%s\t%s v%d, %s", in.Id, in.Game, in.Version, stateName(in.State)))
			}
		}
		return out
	})
}

// completeExecutorIDs offers executor ids with their name and state.
func completeExecutorIDs(f *serverFlags) completeFunc {
	return withCoordinator(f, func(ctx context.Context, c *client.Client, _ []string) []string {
		xs, err := c.ListExecutors(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, x := range xs {
			out = append(out, fmt.Sprintf("%s\t%s, %s", x.Id, x.Name, executorStateName(x.State)))
		}
		return out
	})
}

// completeGames offers the deployed games' names.
func completeGames(f *serverFlags) completeFunc {
	return withCoordinator(f, func(ctx context.Context, c *client.Client, _ []string) []string {
		games, err := c.ListGames(ctx)
		if err != nil {
			return nil
		}
		var out []string
		for _, g := range games {
			out = append(out, fmt.Sprintf("%s\tlatest version %d", g.Name, g.LatestVersion))
		}
		return out
	})
}

// completeVersions offers the versions of the game named by the first
// argument.
func completeVersions(f *serverFlags) completeFunc {
	return withCoordinator(f, func(ctx context.Context, c *client.Client, args []string) []string {
		if len(args) == 0 {
			return nil
		}
		vs, err := c.ListVersions(ctx, args[0])
		if err != nil {
			return nil
		}
		var out []string
		for _, v := range vs {
			out = append(out, fmt.Sprintf("%d\t%s", v.Version, v.Description))
		}
		return out
	})
}

// completeWords offers fixed words.
func completeWords(words ...string) completeFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// instanceStateWords are the states --state takes.
var instanceStateWords = []string{"pending", "starting", "running", "stopping", "stopped", "failed", "lost"}

// completeContexts offers the contexts of the config, and "default".
func completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	path, err := client.DefaultConfigPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := client.LoadConfig(path)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := []string{defaultContext + "\tthe credentials file rccd dev writes"}
	for _, n := range cfg.Names() {
		out = append(out, n+"\t"+cfg.Contexts[n].Addr)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
