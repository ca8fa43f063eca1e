package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/rcc-games/rcc/pkg/cmdline"
)

// envAnnotation names a flag's environment twin when it is not the one
// envName derives (the executor's token is RCC_EXECUTOR_TOKEN: RCC_TOKEN is
// rccctl's).
const envAnnotation = "rcc_env"

// envName is the environment twin of a flag: --grpc-addr is RCC_GRPC_ADDR,
// unless the flag names another in its envAnnotation.
func envName(f *pflag.Flag) string {
	if v := f.Annotations[envAnnotation]; len(v) == 1 {
		return v[0]
	}
	return "RCC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
}

// setEnvName gives the flag name of cmd the environment twin env.
func setEnvName(cmd *cobra.Command, name, env string) {
	_ = cmd.Flags().SetAnnotation(name, envAnnotation, []string{env})
}

// configFlag is the flag of a command's configuration file.
const configFlag = "config"

// applySources sets every flag not given on the command line from its
// RCC_* environment variable or, when that is unset, from the
// configuration file (--config or RCC_CONFIG, when the command has one),
// so the order is flags, then environment, then file, then defaults.
func applySources(cmd *cobra.Command, lookup func(string) (string, bool)) error {
	file := map[string][]string{}
	if cf := cmd.Flags().Lookup(configFlag); cf != nil {
		path := cf.Value.String()
		if !cf.Changed {
			if v, ok := lookup(envName(cf)); ok {
				path = v
			}
		}
		if path != "" {
			var err error
			if file, err = readConfigFile(cmd, path); err != nil {
				return err
			}
		}
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == configFlag {
			return
		}
		if v, ok := lookup(envName(f)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f), v, e)
			}
			return
		}
		for _, v := range file[f.Name] {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("config file: %s: %q: %w", f.Name, v, e)
				return
			}
		}
	})
	return err
}

// readConfigFile reads a YAML mapping of cmd's flag names to values (a
// list for a repeatable flag), refusing a name cmd has no flag for.
func readConfigFile(cmd *cobra.Command, path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := map[string][]string{}
	if len(doc.Content) == 0 { // an empty file
		return out, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: want a mapping of flag names to values", path)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if f := cmd.Flags().Lookup(k.Value); f == nil || k.Value == "help" || k.Value == configFlag {
			return nil, fmt.Errorf("config file %s line %d: %q is not a flag of %s", path, k.Line, k.Value, cmd.CommandPath())
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = []string{v.Value}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("config file %s line %d: %s: want a list of values", path, e.Line, k.Value)
				}
				out[k.Value] = append(out[k.Value], e.Value)
			}
		default:
			return nil, fmt.Errorf("config file %s line %d: %s: want a value or a list of values", path, v.Line, k.Value)
		}
	}
	return out, nil
}

// serveCmd finishes a long-running command (coordinator, executor, dev):
// its logging flags, --config, the environment twins in its help, and a
// PreRunE that reads the environment and the file, then validate. Give
// flags their own environment names (setEnvName) before calling it.
func serveCmd(cmd *cobra.Command, log *logOptions, validate func() error) *cobra.Command {
	cmd.Long += `
Every flag has an environment twin, shown in brackets, and may be set in the
--config file (YAML, flag-name: value); flags win over the environment,
which wins over the file.`
	log.addFlags(cmd.Flags())
	withConfigFile(cmd)
	withEnvHelp(cmd)
	cmd.PreRunE = configChecked(func(cmd *cobra.Command) error {
		if err := applySources(cmd, os.LookupEnv); err != nil {
			return err
		}
		return validate()
	})
	return cmd
}

// serveUntil blocks until ctx ends, returning nil, or until one of the
// servers of failed reports an error, which it logs under that name and
// returns.
func serveUntil(ctx context.Context, log *slog.Logger, failed map[string]<-chan error) error {
	watch, stop := context.WithCancel(ctx)
	defer stop()
	cases := make(chan error, len(failed))
	for name, errc := range failed {
		go func() {
			select {
			case err := <-errc:
				log.Error(name+" failed", "err", err)
				cases <- err
			case <-watch.Done():
			}
		}()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-cases:
		return err
	}
}

// withConfigFile adds --config to a long-running command.
func withConfigFile(cmd *cobra.Command) {
	cmd.Flags().String(configFlag, "", "YAML file of flag values (flag-name: value); flags and the environment win over it")
}

// withEnvHelp appends the environment twins to a command's flag usages.
func withEnvHelp(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			f.Usage += " [" + envName(f) + "]"
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
