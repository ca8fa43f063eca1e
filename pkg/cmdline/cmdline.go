package cmdline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of every RCC binary.
const (
	ExitOK    = 0 // success
	ExitFail  = 1 // the operation failed
	ExitUsage = 2 // the command line was wrong
)

// UsageError marks an error caused by the command line rather than by the
// operation; Run exits 2 on it.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// ExitCode is returned by a command that already reported its result and
// only needs the process to exit with this code; Run prints nothing for it.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Run prepares root (see Prepare), executes it with args and returns the
// process exit code, printing an error as "NAME: message" on stderr, with
// a pointer to --help for usage errors.
func Run(ctx context.Context, root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout) // before Prepare: cobra's completion command keeps the writer it sees
	root.SetErr(stderr)
	Prepare(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ec ExitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
	var ue UsageError
	if errors.As(err, &ue) {
		if cmd != nil {
			fmt.Fprintf(stderr, "run '%s --help' for usage\n", cmd.CommandPath())
		}
		return ExitUsage
	}
	return ExitFail
}

// Prepare makes root's tree strict: every flag error and every failed
// positional-argument check becomes a UsageError, and a command that only
// groups subcommands (no Run of its own) refuses an unknown subcommand and
// names its subcommands when none is given, instead of printing its help
// and exiting 0. The root alone, with no argument, prints its help. Run
// calls it; tests that inspect the tree call it too.
func Prepare(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.SilenceUsage = true
	root.SilenceErrors = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError{err} })
	walk(root, func(c *cobra.Command) {
		if c.Runnable() {
			if check := c.Args; check != nil {
				c.Args = func(c *cobra.Command, args []string) error {
					if err := check(c, args); err != nil {
						var ue UsageError
						if errors.As(err, &ue) {
							return err
						}
						return UsageError{err}
					}
					return nil
				}
			}
			return
		}
		if !c.HasSubCommands() {
			return
		}
		c.Args = cobra.ArbitraryArgs
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				if !c.HasParent() {
					return c.Help()
				}
				return Usagef("%s: missing subcommand: want one of %s", c.CommandPath(), strings.Join(subcommands(c), ", "))
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			} else {
				msg += fmt.Sprintf(": want one of %s", strings.Join(subcommands(c), ", "))
			}
			return UsageError{errors.New(msg)}
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// subcommands are the names of c's visible subcommands.
func subcommands(c *cobra.Command) []string {
	var out []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			out = append(out, s.Name())
		}
	}
	return out
}

// Args checks positional arguments against their names, as the command's
// usage line writes them: "GAME" is required, "[DIR]" optional, and a last
// name ending in "..." ("ID...") takes one or more ("[ID...]": any
// number). A missing argument is named ("missing GAME"); an extra one is
// quoted. With no names the command takes no argument.
func Args(names ...string) cobra.PositionalArgs {
	required, max := 0, len(names)
	for i, n := range names {
		if !strings.HasPrefix(n, "[") {
			required = i + 1
		}
		if strings.HasSuffix(strings.TrimSuffix(n, "]"), "...") {
			max = -1
		}
	}
	return func(_ *cobra.Command, args []string) error {
		if len(args) < required {
			return Usagef("missing %s", strings.Join(names[len(args):required], " "))
		}
		if max >= 0 && len(args) > max {
			if max == 0 {
				return Usagef("unexpected argument %q: this command takes none", args[max])
			}
			return Usagef("unexpected argument %q after %s", args[max], strings.Join(names, " "))
		}
		return nil
	}
}
