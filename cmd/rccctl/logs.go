package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// followRetry is how long a broken follow waits before resuming.
const followRetry = time.Second

func newInstanceLogsCmd() *cobra.Command {
	var f serverFlags
	var (
		follow bool
		since  time.Duration
		tail   int
	)
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Show an instance's log: the game's stdout and stderr lines and its lifecycle events",
		Long: `Show the log of an instance, oldest first: the lines its game wrote to stdout
and stderr, with the frame and the time of each, and its lifecycle events
(started, player_joined, player_left, failed with the reason, stopped,
dropped). The coordinator keeps each instance's last 1000 entries, also
after the instance ended, for as long as it keeps the instance.

With --follow, new entries are shown as they come (within a second) until
the instance ends; a broken connection is resumed where it stopped.

--output json writes JSON Lines: one object per entry with instance_id,
seq, time (RFC 3339), frame, stream (stdout, stderr or event), event and
text.`,
		Example: `  rccctl instance logs i-0123 --tail 20
  rccctl instance logs i-0123 -f
  rccctl instance logs i-0123 --since 5m --output json | jq -r .text`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < 0 {
				return usageError{Err: fmt.Errorf("--since %v: want a positive duration", since)}
			}
			if tail < 0 {
				return usageError{Err: fmt.Errorf("--tail %d: want a positive number", tail)}
			}
			return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
				if follow {
					// --timeout bounds the calls, not how long one follows.
					ctx = cmd.Context()
				}
				req := &rccv1.LogsRequest{Id: args[0], Follow: follow, Tail: uint32(min(tail, 1<<31)),
					SinceSeconds: uint32(min((since+time.Second-1)/time.Second, 1<<31))}
				w := logWriter{out: cmd.OutOrStdout(), json: f.output == "json"}
				return f.streamLogs(ctx, c, req, w, cmd.ErrOrStderr())
			})
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&follow, "follow", "f", false, "show new entries as they come, until the instance ends")
	fl.DurationVar(&since, "since", 0, "only entries newer than this (5m, 1h)")
	fl.IntVar(&tail, "tail", 0, "only the last N entries (default all kept)")
	addServerFlags(cmd, &f, true)
	return cmd
}

// streamLogs writes the entries of a Logs stream; a follow broken by an
// unreachable coordinator resumes after the last entry written.
func (f *serverFlags) streamLogs(ctx context.Context, c *client.Client, req *rccv1.LogsRequest, w logWriter, errOut io.Writer) error {
	var last uint64
	broken := false
	for {
		err := func() error {
			s, err := c.Instances.Logs(ctx, req)
			if err != nil {
				return err
			}
			for {
				m, err := s.Recv()
				if err != nil {
					return err
				}
				if broken {
					fmt.Fprintln(errOut, "rccctl: following again")
					broken = false
				}
				if err := w.write(m); err != nil {
					return err
				}
				last = m.Seq
			}
		}()
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil:
			return nil // interrupted: what came is written
		case status.Code(err) == codes.NotFound:
			return fmt.Errorf("instance %s not found (rccctl instance ls --all lists the instances kept)", req.Id)
		case !req.Follow || status.Code(err) != codes.Unavailable:
			return f.callError(err)
		}
		if !broken {
			fmt.Fprintf(errOut, "rccctl: lost the coordinator (%v), following again in %v\n", f.callError(err), followRetry)
			broken = true
		}
		// Resume after the last entry written.
		req = &rccv1.LogsRequest{Id: req.Id, Follow: true, AfterSeq: max(last, req.AfterSeq)}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followRetry):
		}
	}
}

// logWriter writes log entries as lines for people or as JSON Lines.
type logWriter struct {
	out  io.Writer
	json bool
}

// logLine is the JSON of one log entry.
type logLine struct {
	InstanceID string    `json:"instance_id"`
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	Frame      uint64    `json:"frame"`
	Stream     string    `json:"stream"`
	Event      string    `json:"event"`
	Text       string    `json:"text"`
}

// logStreamName is a log stream for people: "stderr".
func logStreamName(s rccv1.LogStream) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "LOG_STREAM_"))
}

func (w logWriter) write(m *rccv1.LogEntry) error {
	if w.json {
		enc := json.NewEncoder(w.out)
		enc.SetEscapeHTML(false)
		return enc.Encode(logLine{InstanceID: m.InstanceId, Seq: m.Seq, Time: m.Time.AsTime().UTC(), Frame: m.Frame,
			Stream: logStreamName(m.Stream), Event: m.Event, Text: m.Text})
	}
	label := logStreamName(m.Stream)
	if m.Stream == rccv1.LogStream_LOG_STREAM_EVENT {
		label = m.Event
	}
	_, err := fmt.Fprintf(w.out, "%s frame %d %s: %s\n", m.Time.AsTime().Local().Format("2006-01-02 15:04:05.000"), m.Frame, label, m.Text)
	return err
}
