package main

import "github.com/spf13/cobra"

func newGameCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "game",
		Short: "Build, check, run and deploy game modules",
	}
	return cmd
}
