package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/protocol"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newJoinCmd() *cobra.Command {
	var f serverFlags
	var (
		player     string
		version    uint32
		maxPlayers uint32
		labels     []string
	)
	cmd := &cobra.Command{
		Use:               "join GAME --player ID",
		ValidArgsFunction: onlyFirst(completeGames(&f)),
		Short:             "Reserve a seat for a player and print where to connect, with a ticket",
		Long: `Reserve a seat for a player in the fullest running instance of GAME with
room (matching --label), or in a new one, and print the executor's WebSocket
URL, the instance and a single-use ticket valid for 60 s, and the play URL
that carries them all (connect a WebSocket client to it within the 60 s).`,
		Args: cmdline.Args("GAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if player == "" {
				return usageError{Err: fmt.Errorf("--player is required")}
			}
			lbl, err := parseLabels(labels)
			if err != nil {
				return err
			}
			return remote(&f, func(ctx context.Context, c *client.Client, args []string) (*rccv1.JoinResponse, error) {
				return c.Instances.Join(ctx, &rccv1.JoinRequest{Game: args[0], PlayerId: player, Version: version, Labels: lbl, MaxPlayers: maxPlayers})
			}, view[*rccv1.JoinResponse]{json: jsonOf(joinJSON), table: writeJoin})(cmd, args)
		},
	}
	cmd.Flags().StringVar(&player, "player", "", "player id (required)")
	cmd.Flags().Uint32Var(&version, "version", 0, "game version (default the latest)")
	cmd.Flags().Uint32Var(&maxPlayers, "max-players", 0, "max players of a new instance (default 16)")
	cmd.Flags().StringArrayVarP(&labels, "label", "l", nil, "instance label key=value (repeatable)")
	addServerFlags(cmd, &f, true)
	return cmd
}

// writeJoin writes a reserved seat for people: where to connect and with
// which ticket.
func writeJoin(w io.Writer, res *rccv1.JoinResponse, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ws url\t%s\n", res.WsUrl)
	if play, err := protocol.PlayURL(res.WsUrl, res.InstanceId, res.Ticket); err == nil {
		fmt.Fprintf(tw, "play url\t%s\n", play)
	}
	created := ""
	if res.Created {
		created = " (new)"
	}
	fmt.Fprintf(tw, "instance\t%s%s\n", res.InstanceId, created)
	fmt.Fprintf(tw, "executor\t%s\n", res.ExecutorId)
	fmt.Fprintf(tw, "ticket\t%s\n", res.Ticket)
	fmt.Fprintf(tw, "expires\t%s (in %s)\n", res.TicketExpiresAt.AsTime().In(now.Location()).Format(time.TimeOnly),
		shortDuration(res.TicketExpiresAt.AsTime().Sub(now)))
	return tw.Flush()
}
