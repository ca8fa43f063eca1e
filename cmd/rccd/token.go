package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make tokens signed with the coordinator's key",
	}
	cmd.AddCommand(newTokenCreateCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var (
		role, subject, dataDir, addr string
		ttl                          time.Duration
		save                         bool
	)
	cmd := &cobra.Command{
		Use:   "create --role admin|executor",
		Short: "Print a new role token (admin for operators, executor for services)",
		Long: `Print a new role token signed with the key in --data-dir (created if
missing). With --save, also write it with --addr to rccctl's credentials
file ($XDG_CONFIG_HOME/rcc/credentials.json or ~/.config/rcc/credentials.json),
where rccctl finds it without flags.`,
		Args: cmdline.Args(),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if subject == "" {
				subject = string(r)
				if h, err := os.Hostname(); err == nil {
					subject += "@" + h
				}
			}
			key, err := auth.LoadOrCreateKey(dataDir)
			if err != nil {
				return err
			}
			is, err := auth.NewIssuer(key, auth.Options{})
			if err != nil {
				return err
			}
			tok, claims, err := is.RoleToken(r, subject, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(tok))
			if save {
				path, err := client.DefaultCredentialsPath()
				if err != nil {
					return err
				}
				if err := client.SaveCredentials(path, client.Credentials{Addr: addr, Token: client.Token(tok)}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "saved to %s (expires %s)\n", path, claims.ExpiresAt.Format(time.RFC3339))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "admin or executor (required)")
	f.StringVar(&subject, "subject", "", "who the token is for (default ROLE@HOSTNAME)")
	f.DurationVar(&ttl, "ttl", 365*24*time.Hour, "lifetime")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the coordinator's signing key")
	f.BoolVar(&save, "save", false, "also write the token and --addr to rccctl's credentials file")
	f.StringVar(&addr, "addr", client.DefaultAddr, "coordinator address saved with --save")
	_ = cmd.MarkFlagRequired("role")
	withEnvHelp(cmd)
	return cmd
}
