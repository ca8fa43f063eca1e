package top

import (
	"context"
	"errors"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// callTimeout bounds one action or limits call.
const callTimeout = 10 * time.Second

// maxBatch is the most Watch events one message carries: a burst (a
// snapshot, fifty executors' heartbeats) is applied in a few Updates
// rather than thousands.
const maxBatch = 1024

// streamItem is what the pump of a Watch stream hands to the model.
type streamItem struct {
	ev  *rccv1.WatchEvent
	err error
}

// connectedMsg says a Watch stream is open; its events arrive on ch.
// version is the coordinator's, from the stream's headers ("" when it
// sends none).
type connectedMsg struct {
	gen     int
	ch      <-chan streamItem
	version string
}

// eventsMsg carries Watch events of connection gen, then its end (err).
type eventsMsg struct {
	gen int
	evs []*rccv1.WatchEvent
	err error
}

// retryMsg says it is time to connect again.
type retryMsg struct{ gen int }

// tickMsg is the refresh tick of chain id.
type tickMsg struct {
	id int
	at time.Time
}

// limitsMsg answers a request for a game version's limits.
type limitsMsg struct {
	key    versionKey
	limits *rccv1.Limits
	err    error
}

// actionMsg is the result of an operator's action.
type actionMsg struct {
	what string
	err  error
}

// endedMsg carries the instances that ended recently, asked for once per
// connection: the Watch snapshot has only live ones.
type endedMsg struct {
	gen       int
	instances []*rccv1.Instance
}

// logsOpenMsg says the log stream of lgen is open; its entries arrive on
// ch; cancel ends it.
type logsOpenMsg struct {
	lgen   int
	ch     <-chan logItem
	cancel context.CancelFunc
}

// logItem is what the pump of a Logs stream hands to the model; done means
// the instance ended and its log with it.
type logItem struct {
	entry *rccv1.LogEntry
	err   error
	done  bool
}

// logsMsg carries log entries of stream lgen, then its end.
type logsMsg struct {
	lgen    int
	entries []*rccv1.LogEntry
	err     error
	done    bool
}

// logsRetryMsg says it is time to follow the log of lgen again.
type logsRetryMsg struct{ lgen int }

// endedLimit is how many ended instances top asks for when it connects.
const endedLimit = 200

// logTail is how many entries the detail view asks for when it opens.
const logTail = 200

// backend makes the model's calls to the coordinator, each inside a
// tea.Cmd. Its functions close over the context top runs in.
type backend struct {
	watch   func(gen int) tea.Cmd
	ended   func(gen int) tea.Cmd
	limits  func(k versionKey) tea.Cmd
	stop    func(id string) tea.Cmd
	renew   func(id string) tea.Cmd
	drain   func(id string) tea.Cmd
	undrain func(id string) tea.Cmd
	// logs follows an instance's log after entry afterSeq (0: the last
	// logTail entries first).
	logs func(lgen int, id string, afterSeq uint64) tea.Cmd
}

// newBackend calls c; ctx ends every stream and call when top quits.
func newBackend(ctx context.Context, c *client.Client) *backend {
	call := func(what string, f func(context.Context) error) tea.Cmd {
		return func() tea.Msg {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			return actionMsg{what: what, err: f(cctx)}
		}
	}
	return &backend{
		watch: func(gen int) tea.Cmd {
			return func() tea.Msg {
				stream, err := c.Watch.Watch(ctx, &rccv1.WatchRequest{})
				if err != nil {
					return eventsMsg{gen: gen, err: err}
				}
				var version string
				if md, err := stream.Header(); err == nil {
					if v := md.Get(client.VersionHeader); len(v) > 0 {
						version = v[0]
					}
				}
				ch := make(chan streamItem, maxBatch)
				go func() {
					for {
						ev, err := stream.Recv()
						if errors.Is(err, io.EOF) {
							err = errors.New("the coordinator ended the stream")
						}
						select {
						case ch <- streamItem{ev: ev, err: err}:
						case <-ctx.Done():
							return
						}
						if err != nil {
							return
						}
					}
				}()
				return connectedMsg{gen: gen, ch: ch, version: version}
			}
		},
		logs: func(lgen int, id string, afterSeq uint64) tea.Cmd {
			return func() tea.Msg {
				lctx, cancel := context.WithCancel(ctx)
				req := &rccv1.LogsRequest{Id: id, Follow: true, Tail: logTail, AfterSeq: afterSeq}
				if afterSeq > 0 {
					req.Tail = 0
				}
				stream, err := c.Instances.Logs(lctx, req)
				if err != nil {
					cancel()
					return logsMsg{lgen: lgen, err: err}
				}
				ch := make(chan logItem, maxBatch)
				go func() {
					for {
						e, err := stream.Recv()
						it := logItem{entry: e, err: err}
						if errors.Is(err, io.EOF) {
							it = logItem{done: true}
						}
						select {
						case ch <- it:
						case <-lctx.Done():
							return
						}
						if err != nil {
							return
						}
					}
				}()
				return logsOpenMsg{lgen: lgen, ch: ch, cancel: cancel}
			}
		},
		ended: func(gen int) tea.Cmd {
			return func() tea.Msg {
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				defer cancel()
				ins, err := c.ListInstances(cctx, &rccv1.ListInstancesRequest{Limit: endedLimit, States: []rccv1.InstanceState{
					rccv1.InstanceState_INSTANCE_STATE_FAILED, rccv1.InstanceState_INSTANCE_STATE_LOST, rccv1.InstanceState_INSTANCE_STATE_STOPPED}})
				if err != nil {
					return nil // the stream shows what ends from now on
				}
				return endedMsg{gen: gen, instances: ins}
			}
		},
		limits: func(k versionKey) tea.Cmd {
			return func() tea.Msg {
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				defer cancel()
				v, err := c.Games.GetVersion(cctx, &rccv1.GetVersionRequest{Game: k.game, Version: k.version})
				return limitsMsg{key: k, limits: v.GetLimits(), err: err}
			}
		},
		stop: func(id string) tea.Cmd {
			return call("stop "+id, func(ctx context.Context) error {
				_, err := c.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: id, Reason: "stopped from rccctl top"})
				return err
			})
		},
		renew: func(id string) tea.Cmd {
			return call("renew "+id, func(ctx context.Context) error {
				_, err := c.Instances.RenewLease(ctx, &rccv1.RenewLeaseRequest{Id: id})
				return err
			})
		},
		drain: func(id string) tea.Cmd {
			return call("drain "+id, func(ctx context.Context) error {
				_, err := c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: id})
				return err
			})
		},
		undrain: func(id string) tea.Cmd {
			return call("undrain "+id, func(ctx context.Context) error {
				_, err := c.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: id})
				return err
			})
		},
	}
}

// recv waits for the next events of a stream and takes every one already
// there, up to maxBatch.
func recv(gen int, ch <-chan streamItem) tea.Cmd {
	return func() tea.Msg {
		first, ok := <-ch
		if !ok {
			first.err = errors.New("the stream ended")
		}
		msg := eventsMsg{gen: gen, err: first.err}
		if first.err != nil {
			return msg
		}
		msg.evs = append(msg.evs, first.ev)
		for len(msg.evs) < maxBatch {
			select {
			case it, ok := <-ch:
				if !ok {
					it.err = errors.New("the stream ended")
				}
				if it.err != nil {
					msg.err = it.err
					return msg
				}
				msg.evs = append(msg.evs, it.ev)
			default:
				return msg
			}
		}
		return msg
	}
}

// recvLogs waits for the next log entries and takes every one already
// there, up to maxBatch.
func recvLogs(lgen int, ch <-chan logItem) tea.Cmd {
	return func() tea.Msg {
		msg := logsMsg{lgen: lgen}
		for it := range ch {
			switch {
			case it.done:
				msg.done = true
				return msg
			case it.err != nil:
				msg.err = it.err
				return msg
			}
			msg.entries = append(msg.entries, it.entry)
			if len(ch) == 0 || len(msg.entries) >= maxBatch {
				return msg
			}
		}
		msg.err = errors.New("the log stream ended")
		return msg
	}
}

// tick schedules the refresh of chain id after d.
func tick(id int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(at time.Time) tea.Msg { return tickMsg{id: id, at: at} })
}

// retryAfter schedules connection gen's retry after d.
func retryAfter(gen int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return retryMsg{gen: gen} })
}

// backoff is the wait before connection attempt n (from 1): 0.5 s doubling
// up to 10 s.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

// errText shortens a gRPC error for the header.
func errText(err error) string {
	s := err.Error()
	if st, ok := status.FromError(err); ok {
		s = st.Message()
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
