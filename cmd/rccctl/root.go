package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"
)

// Exit codes: 0 success, 1 the operation failed, 2 the command line was
// wrong (the same as rccd's).
const (
	exitOK    = cmdline.ExitOK
	exitFail  = cmdline.ExitFail
	exitUsage = cmdline.ExitUsage
)

// usageError marks an error caused by the command line rather than the operation.
type usageError = cmdline.UsageError

// silentExit is returned by a command that already reported its result and
// only needs a non-zero exit code.
type silentExit = cmdline.ExitCode

// run executes rccctl with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Run(ctx, newRootCmd(), args, stdout, stderr)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rccctl",
		Short: "Build, check, run and operate RCC games",
	}
	root.AddCommand(
		newGameCmd(),
		newInstanceCmd(),
		newExecutorCmd(),
		newJoinCmd(),
		newTopCmd(),
		newContextCmd(),
		cmdline.NewVersionCmd(),
		cmdline.NewManCmd(),
	)
	return root
}
