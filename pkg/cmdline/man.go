package cmdline

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// NewManCmd is the hidden "gen-man DIR" command: it writes a man page
// (section 1) for the binary and each of its commands into DIR, as
// make man does into build/man.
func NewManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages of every command into DIR",
		Hidden: true,
		Args:   Args("DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("gen-man: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // no date: the pages are the same on every build
			hdr := &doc.GenManHeader{Title: root.Name(), Section: "1", Source: "RCC", Manual: "RCC Manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return fmt.Errorf("gen-man: %w", err)
			}
			return nil
		},
	}
}
