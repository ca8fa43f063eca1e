// Command rccd is the RCC daemon: coordinator, executor, or both in dev mode.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
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

// run executes rccd with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdline.Run(ctx, newRootCmd(), args, stdout, stderr)
}

// Exit codes: 0 success, 1 the operation failed, 2 the command line was
// wrong (the same as rccctl's).
const (
	exitOK    = cmdline.ExitOK
	exitFail  = cmdline.ExitFail
	exitUsage = cmdline.ExitUsage
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rccd",
		Short: "The RCC daemon",
	}
	root.AddCommand(newCoordinatorCmd(), newExecutorCmd(), newDevCmd(), newTokenCmd(), newCertCmd(), newKeyCmd(), newMigrateCmd(), cmdline.NewVersionCmd(), cmdline.NewManCmd())
	return root
}
