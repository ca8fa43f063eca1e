package coordinator

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Defaults of the log settings of Config.
const (
	// DefaultLogEntries is how many entries of each instance's log the
	// store keeps.
	DefaultLogEntries = 1000
	// DefaultLogPollInterval is how often a following Logs stream re-reads
	// the store when nothing woke it: entries appended through another
	// coordinator arrive within it.
	DefaultLogPollInterval = time.Second
	// maxAppendEntries bounds the entries of one AppendLogs request.
	maxAppendEntries = 10000
	// logPage is how many entries a Logs stream reads at a time.
	logPage = 500
)

// logWake wakes the Logs streams following an instance when entries were
// appended to its log or it changed state.
type logWake struct {
	mu  sync.Mutex
	chs map[string]chan struct{}
}

func newLogWake() *logWake { return &logWake{chs: map[string]chan struct{}{}} }

// channel returns a channel closed at the next wake of id.
func (w *logWake) channel(id string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.chs[id]
	if !ok {
		ch = make(chan struct{})
		w.chs[id] = ch
	}
	return ch
}

func (w *logWake) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.chs[id]; ok {
		close(ch)
		delete(w.chs, id)
	}
}

var logStreamToProto = map[store.LogStream]rccv1.LogStream{
	store.LogStdout: rccv1.LogStream_LOG_STREAM_STDOUT,
	store.LogStderr: rccv1.LogStream_LOG_STREAM_STDERR,
	store.LogEvent:  rccv1.LogStream_LOG_STREAM_EVENT,
}

func logStreamFromProto(s rccv1.LogStream) (store.LogStream, bool) {
	for k, v := range logStreamToProto {
		if v == s {
			return k, true
		}
	}
	return "", false
}

func logEntryProto(e store.LogEntry) *rccv1.LogEntry {
	return &rccv1.LogEntry{InstanceId: e.InstanceID, Seq: e.Seq, Time: tsOf(e.Time), Frame: e.Frame,
		Stream: logStreamToProto[e.Stream], Event: e.Event, Text: e.Text}
}

// AppendLogs stores the entries an executor pushes, instance by instance.
func (s *executorService) AppendLogs(ctx context.Context, req *rccv1.AppendLogsRequest) (*rccv1.AppendLogsResponse, error) {
	c := s.c
	if err := c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	total := 0
	for _, il := range req.Instances {
		total += len(il.Entries)
	}
	if total > maxAppendEntries {
		return nil, invalid("append logs: %d entries in one request, at most %d", total, maxAppendEntries)
	}
	batches := make([]store.LogBatch, 0, len(req.Instances))
	for _, il := range req.Instances {
		if il.InstanceId == "" || len(il.Entries) == 0 {
			continue
		}
		entries := make([]store.LogEntry, 0, len(il.Entries))
		for _, e := range il.Entries {
			stream, ok := logStreamFromProto(e.Stream)
			if !ok {
				return nil, invalid("append logs of %s: unknown log stream %d", il.InstanceId, e.Stream)
			}
			entry := store.LogEntry{Frame: e.Frame, Stream: stream, Event: e.Event, Text: e.Text}
			if e.Time != nil {
				entry.Time = e.Time.AsTime()
			}
			entries = append(entries, entry)
		}
		batches = append(batches, store.LogBatch{InstanceID: il.InstanceId, Entries: entries})
	}
	if len(batches) == 0 {
		return &rccv1.AppendLogsResponse{}, nil
	}
	refused, err := s.st.AppendLogs(ctx, req.ExecutorId, batches, c.cfg.LogEntries, c.now())
	if err != nil {
		return nil, grpcError(err)
	}
	for _, b := range batches {
		if !slices.Contains(refused, b.InstanceID) {
			c.metrics.logEntries.Add(float64(len(b.Entries)))
			c.logWake.wake(b.InstanceID)
		}
	}
	return &rccv1.AppendLogsResponse{Refused: refused}, nil
}

// Logs streams an instance's log from the store, then, with follow, what
// is appended until the instance has ended.
func (s *instanceService) Logs(req *rccv1.LogsRequest, stream rccv1.InstanceService_LogsServer) error {
	if req.Id == "" {
		return invalid("logs: instance id is required")
	}
	c := s.c
	ctx := stream.Context()
	if req.Follow {
		c.metrics.logFollowers.Inc()
		defer c.metrics.logFollowers.Dec()
		var end func()
		var result func(error) error
		ctx, end, result = c.streamContext(ctx)
		defer end()
		return result(s.logs(ctx, req, stream))
	}
	return s.logs(ctx, req, stream)
}

func (s *instanceService) logs(ctx context.Context, req *rccv1.LogsRequest, stream rccv1.InstanceService_LogsServer) error {
	c := s.c
	q := store.LogQuery{AfterSeq: req.AfterSeq, Tail: int(req.Tail)}
	if req.SinceSeconds > 0 {
		q.Since = c.now().Add(-time.Duration(req.SinceSeconds) * time.Second)
	}
	// send reads and sends everything selected after q.AfterSeq.
	send := func() error {
		for {
			page := q
			page.Limit = logPage
			entries, err := s.st.ListLogs(ctx, req.Id, page)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return grpcError(err)
			}
			for _, e := range entries {
				if err := stream.Send(logEntryProto(e)); err != nil {
					return err
				}
				q.AfterSeq = e.Seq
			}
			// The tail applies to the first read only.
			q.Tail = 0
			if len(entries) < logPage {
				return nil
			}
		}
	}
	if !req.Follow {
		return send()
	}
	var timer *time.Timer
	for {
		// The channel is taken before the state is read, and the state
		// before the log: the executor pushes an instance's last entries
		// before it reports its end, so an end seen here has its entries
		// in the store, and a wake after the read is not missed.
		wake := c.logWake.channel(req.Id)
		in, err := s.st.GetInstance(ctx, req.Id)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return grpcError(err)
		}
		if err := send(); err != nil {
			return err
		}
		if in.State.Ended() {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(c.cfg.LogPollInterval)
			defer timer.Stop()
		} else {
			timer.Reset(c.cfg.LogPollInterval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-timer.C:
		}
	}
}

// logEntriesOf checks the value of Config.LogEntries.
func logEntriesOf(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLogEntries, nil
	case n < 0 || n > 1_000_000:
		return 0, fmt.Errorf("log entries per instance %d out of range 1..1000000", n)
	}
	return n, nil
}
