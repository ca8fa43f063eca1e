package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/store"
)

func newMigrateCmd() *cobra.Command {
	var db, dataDir string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations and exit",
		Long: `Apply the embedded database migrations and exit. The coordinator applies
them at start too; this command lets a deployment do it as a separate step.
Several coordinators may start on one PostgreSQL at once: an advisory lock
serialises the migrations.`,
		Args: cmdline.Args(),
		PreRunE: configChecked(func(cmd *cobra.Command) error {
			return applySources(cmd, os.LookupEnv)
		}),
		RunE: func(cmd *cobra.Command, _ []string) error {
			url := databaseURL(db, dataDir)
			st, err := store.Open(cmd.Context(), url)
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "migrations applied to %s\n", redactDB(url))
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database: postgres://… or sqlite://PATH (default sqlite://DATA-DIR/rcc.db)")
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data directory (for the default SQLite database)")
	withEnvHelp(cmd)
	return cmd
}

// databaseURL is --db, or the SQLite database in dataDir when it is empty.
func databaseURL(db, dataDir string) string {
	if db == "" {
		return "sqlite://" + dataDir + "/rcc.db"
	}
	return db
}
