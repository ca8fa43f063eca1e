package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/cmdline"
)

func newKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Rotate and list the coordinator's token signing keys",
		Long: `The coordinator signs tokens and tickets with the active key of the key set
in --data-dir, naming it in each token's "kid" header; retired keys are
kept, their tokens accepted, until their time passes. A running
coordinator reads the key set again within a second of a change: a
rotation needs no restart and drops no session. Executors fetch the public
keys (ExecutorService.PublicKeys) when a ticket names a key they do not
know; others read them as a JWKS at /.well-known/jwks.json on the
coordinator's --metrics-addr.`,
	}
	cmd.AddCommand(newKeyRotateCmd(), newKeyRemoveCmd(), newKeyListCmd())
	return cmd
}

func newKeyRotateCmd() *cobra.Command {
	var dataDir string
	var keep time.Duration
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key and retire the active one",
		Long: `Make a new signing key and retire the active one. Tokens and tickets the
retired key signed stay valid for --keep (default: the longest default
token lifetime, an admin token's week); then the key goes and its tokens
are refused. Tokens made with a longer --ttl stop working then: make new
ones.`,
		Args: cmdline.Args(),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, _ []string) error {
			before, err := auth.LoadKeySet(dataDir, time.Now())
			if err != nil {
				return err
			}
			ks, err := auth.RotateKey(dataDir, keep, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "active key %s (was %s, kept until %s)\n", ks.ActiveID, before.ActiveID,
				ks.Retired[len(ks.Retired)-1].RemoveAfter.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the coordinator's key set")
	cmd.Flags().DurationVar(&keep, "keep", auth.DefaultAdminTTL, "how long the retired key's tokens stay valid")
	withEnvHelp(cmd)
	return cmd
}

func newKeyRemoveCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "remove KID",
		Short: "Remove a retired key now: its tokens are refused from then on",
		Args:  cmdline.Args("KID"),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := auth.RemoveKey(dataDir, args[0], time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed key %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the coordinator's key set")
	withEnvHelp(cmd)
	return cmd
}

func newKeyListCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the key set: the active key and the retired ones",
		Args:  cmdline.Args(),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := auth.LoadKeySet(dataDir, time.Now())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-44s  %-8s  %s\n", "KID", "STATE", "REMOVED AFTER")
			fmt.Fprintf(w, "%-44s  %-8s  %s\n", ks.ActiveID, "active", "-")
			for _, r := range ks.Retired {
				fmt.Fprintf(w, "%-44s  %-8s  %s\n", r.ID, "retired", r.RemoveAfter.Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "directory of the coordinator's key set")
	withEnvHelp(cmd)
	return cmd
}
