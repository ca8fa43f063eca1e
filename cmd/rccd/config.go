package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rcc-games/rcc/pkg/cmdline"
)

// envName is the environment twin of a flag: --grpc-addr is RCC_GRPC_ADDR.
func envName(flag string) string {
	return "RCC_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its RCC_*
// environment variable, so the order is defaults, then environment, then
// flags.
func applyEnv(cmd *cobra.Command, lookup func(string) (string, bool)) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// withEnvHelp appends the environment twins to a command's flag usages.
func withEnvHelp(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			f.Usage += " [" + envName(f.Name) + "]"
		}
	})
}

// configChecked is a PreRunE that reads the environment twins and checks
// the configuration: what it refuses is a usage error (exit 2), as a bad
// flag is.
func configChecked(check func(cmd *cobra.Command) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := check(cmd); err != nil {
			return cmdline.UsageError{Err: err}
		}
		return nil
	}
}

// defaultDataDir is $XDG_DATA_HOME/rcc, or ~/.local/share/rcc.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rcc")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "rcc")
	}
	return "rcc-data"
}

// logOptions are the logging flags every long-running command has.
type logOptions struct {
	Format string
	Level  string
}

func (o *logOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Format, "log-format", "json", "log format: json or text")
	fs.StringVar(&o.Level, "log-level", "info", "log level: debug, info, warn or error")
}

func (o logOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", o.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch o.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", o.Format)
}
