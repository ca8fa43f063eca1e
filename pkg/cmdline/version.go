package cmdline

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/buildinfo"
)

// NewVersionCmd is the "version" command: the binary's build (version,
// commit, Go version, platform) as text or, with --output json, as one
// JSON object with those fields.
func NewVersionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the build: version, commit and Go version",
		Args:  Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := buildinfo.Read()
			w := cmd.OutOrStdout()
			switch output {
			case "json":
				b, err := json.MarshalIndent(in, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			case "table":
				commit := in.Commit
				if commit == "" {
					commit = "unknown"
				}
				if in.Modified {
					commit += " (modified)"
				}
				fmt.Fprintf(w, "%s %s\n", cmd.Root().Name(), in.Version)
				fmt.Fprintf(w, "commit    %s\n", commit)
				fmt.Fprintf(w, "go        %s %s\n", in.GoVersion, in.Platform)
				return nil
			}
			return Usagef("--output %q: want table or json", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}
