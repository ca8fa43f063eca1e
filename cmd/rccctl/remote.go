package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
)

// view is how a command prints what its call returned: under --output
// json the value json makes of it (docs/cli.md), else what table writes
// for people. Both get the time the answer arrived, for ages and leases,
// and table writes local times in now's location.
type view[T any] struct {
	json  func(v T, now time.Time) any
	table func(w io.Writer, v T, now time.Time) error
}

// print writes v by output ("json" or "table").
func (p view[T]) print(w io.Writer, output string, v T, now time.Time) error {
	if output == "json" {
		return writeJSON(w, p.json(v, now))
	}
	return p.table(w, v, now)
}

// withClient dials the coordinator f names, runs fn with a context bound
// by --timeout, closes the connection and returns fn's error for people
// (callError).
func (f *serverFlags) withClient(cmd *cobra.Command, fn func(ctx context.Context, c *client.Client) error) error {
	ctx, done, c, err := f.dial(cmd)
	if err != nil {
		return err
	}
	defer done()
	return f.callError(fn(ctx, c))
}

// remote is the RunE of a command that makes one call to the coordinator
// and prints its answer: it dials with f, runs call, maps its error by
// status code and prints the result as v says, by --output.
func remote[T any](f *serverFlags, call func(ctx context.Context, c *client.Client, args []string) (T, error), v view[T]) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
			res, err := call(ctx, c, args)
			if err != nil {
				return err
			}
			return v.print(cmd.OutOrStdout(), f.output, res, time.Now())
		})
	}
}

// jsonOf is a view's json for a conversion that needs no time.
func jsonOf[T, O any](conv func(T) O) func(T, time.Time) any {
	return func(v T, _ time.Time) any { return conv(v) }
}

// jsonList is a view's json for a list: conv of each item, [] when there
// are none.
func jsonList[T, O any](conv func(T) O) func([]T, time.Time) any {
	return func(vs []T, _ time.Time) any {
		out := make([]O, len(vs))
		for i, v := range vs {
			out[i] = conv(v)
		}
		return out
	}
}
