package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/store"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make tokens signed with the coordinator's key",
	}
	cmd.AddCommand(newTokenCreateCmd(), newTokenRevokeCmd())
	return cmd
}

func newTokenRevokeCmd() *cobra.Command {
	var db, dataDir, reason string
	cmd := &cobra.Command{
		Use:   "revoke TOKEN-ID|TOKEN",
		Short: "Refuse a role token from now on, on every coordinator of the database",
		Long: `Add a role token to the deny-list in the coordinator's database: every
coordinator on that database refuses it within a second (at its next reap),
and after a restart too, until it expires. Give the token's id (its "jti",
printed by "rccd token create") or the token itself, whose id, subject and
expiry are then read from it (its signature is not checked: a token that
is not ours does no harm on the list).`,
		Example: `  rccd token revoke 3QJ6T2Q6V3Y7ZP4C --reason "laptop stolen"
  rccd token revoke "$(cat executor.token)" --db postgres://rcc@db/rcc`,
		Args: cmdline.Args("TOKEN-ID|TOKEN"),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseUnverified(args[0])
			if err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), databaseURL(db, dataDir))
			if err != nil {
				return err
			}
			defer st.Close()
			err = st.RevokeToken(cmd.Context(), store.Revocation{ID: r.ID, Subject: r.Subject, Reason: reason,
				ExpiresAt: r.ExpiresAt, RevokedAt: time.Now()})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s", r.ID)
			if r.Subject != "" {
				fmt.Fprintf(cmd.OutOrStdout(), " (subject %s, expires %s)", r.Subject, r.ExpiresAt.Format(time.RFC3339))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database: postgres://… or sqlite://PATH (default sqlite://DATA-DIR/rcc.db)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory (for the default SQLite database)")
	f.StringVar(&reason, "reason", "", "why, kept with the revocation")
	withEnvHelp(cmd)
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var (
		role, subject, dataDir, addr string
		ttl                          time.Duration
		save                         bool
	)
	cmd := &cobra.Command{
		Use:   "create --role admin|executor|player",
		Short: "Print a new role token (admin for operators, executor for services, player for a player's client)",
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
			if subject == "" && r == auth.RolePlayer {
				return fmt.Errorf("--subject: a player token names its player (--subject PLAYER_ID)")
			}
			if subject == "" {
				subject = string(r)
				if h, err := os.Hostname(); err == nil {
					subject += "@" + h
				}
			}
			if ttl == 0 {
				ttl = auth.DefaultTTL(r)
			}
			ks, err := auth.LoadKeySet(dataDir, time.Now())
			if err != nil {
				return err
			}
			is := auth.NewKeySetIssuer(ks, auth.Options{})
			tok, claims, err := is.RoleToken(r, subject, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(tok))
			fmt.Fprintf(cmd.ErrOrStderr(), "token id %s, subject %s, role %s, expires %s\n", claims.ID, claims.Subject, claims.Role,
				claims.ExpiresAt.Format(time.RFC3339))
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
	f.StringVar(&role, "role", "", "admin, executor or player (required)")
	f.StringVar(&subject, "subject", "", "who the token is for: an executor's name, a player's id (default ROLE@HOSTNAME; required for a player)")
	f.DurationVar(&ttl, "ttl", 0, "lifetime (default: admin 168h, executor 24h and renewed by the executor, player 1h)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the coordinator's signing key")
	f.BoolVar(&save, "save", false, "also write the token and --addr to rccctl's credentials file")
	f.StringVar(&addr, "addr", client.DefaultAddr, "coordinator address saved with --save")
	_ = cmd.MarkFlagRequired("role")
	withEnvHelp(cmd)
	return cmd
}
