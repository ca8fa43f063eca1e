package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/cmdline"
)

func newContextCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "context",
		Aliases: []string{"contexts"},
		Short:   "Name several coordinators and choose the one rccctl talks to",
		Long: `A context is a named coordinator: its address and an admin token, kept in
config.json beside the credentials file ($XDG_CONFIG_HOME/rcc/ or
~/.config/rcc/, mode 0600). The context in use is, in order: --context,
$RCC_CONTEXT, the one chosen with rccctl context use; without any, the
"default" context is the credentials file rccd dev writes. --addr, --token,
$RCC_ADDR and $RCC_TOKEN still override a context's address and token.`,
		Example: `  rccctl context add prod --addr coord.example.com:7400 --token-file prod.token
  rccctl context use prod
  rccctl instance ls --context default   # the rccd dev on this machine`,
	}
	cmd.AddCommand(newContextLsCmd(), newContextUseCmd(), newContextAddCmd(), newContextRmCmd())
	return cmd
}

// configPath is rccctl's config file.
func configPath() (string, client.Config, error) {
	path, err := client.DefaultConfigPath()
	if err != nil {
		return "", client.Config{}, err
	}
	cfg, err := client.LoadConfig(path)
	return path, cfg, err
}

// contextOut is one context in context ls --output json.
type contextOut struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Current bool   `json:"current"`
	// Source is "config" or "credentials" (the default context).
	Source string `json:"source"`
}

func newContextLsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List contexts; * marks the one in use",
		Args:  cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			_, cfg, err := configPath()
			if err != nil {
				return err
			}
			current := os.Getenv("RCC_CONTEXT")
			if current == "" {
				current = cfg.Current
			}
			if current == "" {
				current = defaultContext
			}
			out := []contextOut{}
			if path, err := client.DefaultCredentialsPath(); err == nil {
				creds, err := client.LoadCredentials(path)
				switch {
				case err == nil:
					out = append(out, contextOut{Name: defaultContext, Addr: creds.Addr, Current: current == defaultContext, Source: "credentials"})
				case !errors.Is(err, fs.ErrNotExist):
					return err
				}
			}
			for _, n := range cfg.Names() {
				out = append(out, contextOut{Name: n, Addr: cfg.Contexts[n].Addr, Current: current == n, Source: "config"})
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CURRENT\tNAME\tADDR\tSOURCE")
			for _, c := range out {
				mark := ""
				if c.Current {
					mark = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, c.Name, c.Addr, c.Source)
			}
			return tw.Flush()
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func newContextUseCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "use NAME",
		Short:             "Talk to the coordinator of context NAME from now on (default: the credentials file)",
		Args:              cmdline.Args("NAME"),
		ValidArgsFunction: onlyFirst(completeContexts),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, cfg, err := configPath()
			if err != nil {
				return err
			}
			name := args[0]
			if name == defaultContext {
				cfg.Current = ""
			} else {
				if _, err := cfg.Context(name); err != nil {
					return usageError{Err: fmt.Errorf("%w (rccctl context ls lists them)", err)}
				}
				cfg.Current = name
			}
			if err := client.SaveConfig(path, cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "using context %s\n", name)
			return nil
		},
	}
}

func newContextAddCmd() *cobra.Command {
	var addr, token, tokenFile string
	var use bool
	cmd := &cobra.Command{
		Use:   "add NAME --addr HOST:PORT (--token TOKEN | --token-file FILE)",
		Short: "Add a context, or replace one of that name",
		Args:  cmdline.Args("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if name == defaultContext {
				return usageError{Err: fmt.Errorf("context %q is the credentials file rccd dev writes; choose another name", name)}
			}
			if err := client.CheckContextName(name); err != nil {
				return usageError{Err: err}
			}
			if addr == "" {
				return usageError{Err: errors.New("missing --addr")}
			}
			switch {
			case token != "" && tokenFile != "":
				return usageError{Err: errors.New("--token and --token-file: give one")}
			case tokenFile != "":
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				token = strings.TrimSpace(string(b))
			}
			if token == "" {
				return usageError{Err: errors.New("missing --token or --token-file")}
			}
			path, cfg, err := configPath()
			if err != nil {
				return err
			}
			cfg.Contexts[name] = client.Credentials{Addr: addr, Token: client.Token(token)}
			if use {
				cfg.Current = name
			}
			if err := client.SaveConfig(path, cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added context %s (%s) to %s\n", name, addr, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "coordinator address host:port (required)")
	cmd.Flags().StringVar(&token, "token", "", "admin token")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the admin token")
	cmd.Flags().BoolVar(&use, "use", false, "use it from now on")
	return cmd
}

func newContextRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME",
		Short:             "Remove a context (the one in use too: the default takes over)",
		Args:              cmdline.Args("NAME"),
		ValidArgsFunction: onlyFirst(completeContexts),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if name == defaultContext {
				return usageError{Err: fmt.Errorf("context %q is the credentials file rccd dev writes; it is not removed here", name)}
			}
			path, cfg, err := configPath()
			if err != nil {
				return err
			}
			if _, err := cfg.Context(name); err != nil {
				return usageError{Err: err}
			}
			delete(cfg.Contexts, name)
			if cfg.Current == name {
				cfg.Current = ""
			}
			if err := client.SaveConfig(path, cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed context %s\n", name)
			return nil
		},
	}
}
