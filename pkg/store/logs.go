package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LogStream says where a log entry came from.
type LogStream string

// Log streams.
const (
	LogStdout LogStream = "stdout"
	LogStderr LogStream = "stderr"
	// LogEvent is a lifecycle event written by the executor; Event names it.
	LogEvent LogStream = "event"
)

// LogEntry is one entry of an instance's log.
type LogEntry struct {
	InstanceID string
	// Seq is the entry's position in the instance's log, from 1, given by
	// AppendLogs (ignored on input): each entry appended takes the next
	// number, also those of a batch larger than the log keeps.
	Seq    uint64
	Time   time.Time // millisecond precision once stored
	Frame  uint64
	Stream LogStream
	Event  string
	Text   string
}

// LogBatch is new entries of one instance's log, for AppendLogs.
type LogBatch struct {
	InstanceID string
	Entries    []LogEntry
}

// LogQuery selects entries in ListLogs; zero fields select all kept.
type LogQuery struct {
	// AfterSeq: only entries with a greater Seq.
	AfterSeq uint64
	// Since: only entries at or after this time.
	Since time.Time
	// Tail: only the last Tail entries of those selected.
	Tail int
	// Limit: at most Limit entries, the oldest of those selected (applied
	// after Tail).
	Limit int
}

// maxLogText bounds one entry's text, in bytes.
const maxLogText = 4096

// cleanLogText makes text storable by both backends: valid UTF-8 without
// NUL bytes (which PostgreSQL's text refuses), at most maxLogText bytes.
func cleanLogText(s string) string {
	if len(s) > maxLogText {
		s = s[:maxLogText]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxLogText { // replacement characters are 3 bytes
		s = strings.ToValidUTF8(s[:maxLogText], "")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// logBatchRows bounds the rows of one INSERT (7 parameters each).
const logBatchRows = 100

func (s *db) AppendLogs(ctx context.Context, executorID string, batches []LogBatch, keep int, now time.Time) ([]string, error) {
	if keep <= 0 {
		return nil, fmt.Errorf("append logs: keep must be positive, not %d", keep)
	}
	// One order of row locks for every caller.
	batches = slices.Clone(batches)
	slices.SortStableFunc(batches, func(a, b LogBatch) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	var refused []string
	err := s.tx(ctx, func(c conn) error {
		refused = refused[:0]
		for _, b := range batches {
			if len(b.Entries) == 0 {
				continue
			}
			ok, err := appendLog(ctx, c, executorID, b, keep, now)
			if err != nil {
				return err
			}
			if !ok {
				refused = append(refused, b.InstanceID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append logs: %w", err)
	}
	return refused, nil
}

// appendLog appends one batch inside a transaction; it reports false when
// the instance is unknown or not assigned to executorID.
func appendLog(ctx context.Context, c conn, executorID string, b LogBatch, keep int, now time.Time) (bool, error) {
	entries := b.Entries
	// The row update numbers the batch, checks the instance's executor
	// and serialises concurrent appends to one instance.
	var end int64
	err := c.queryRow(ctx, `UPDATE instances SET log_seq = log_seq + ? WHERE id = ? AND executor_id = ? RETURNING log_seq`,
		int64(len(entries)), b.InstanceID, executorID).Scan(&end)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	last := uint64(end)
	// Only the last keep entries of a batch would survive the trim.
	if len(entries) > keep {
		entries = entries[len(entries)-keep:]
	}
	seq := last - uint64(len(entries)) + 1
	for chunk := range slices.Chunk(entries, logBatchRows) {
		var q strings.Builder
		q.WriteString(`INSERT INTO instance_logs (instance_id, seq, at, frame, stream, event, text) VALUES `)
		args := make([]any, 0, 7*len(chunk))
		for k, e := range chunk {
			if k > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			at := e.Time
			if at.IsZero() {
				at = now
			}
			stream := e.Stream
			if stream == "" {
				stream = LogStdout
			}
			args = append(args, b.InstanceID, int64(seq), ms(at), int64(min(e.Frame, 1<<63-1)), string(stream),
				cleanLogText(e.Event), cleanLogText(e.Text))
			seq++
		}
		if _, err := c.exec(ctx, q.String(), args...); err != nil {
			return false, err
		}
	}
	if last > uint64(keep) {
		if _, err := c.exec(ctx, `DELETE FROM instance_logs WHERE instance_id = ? AND seq <= ?`, b.InstanceID, int64(last)-int64(keep)); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (s *db) ListLogs(ctx context.Context, instanceID string, q LogQuery) ([]LogEntry, error) {
	var exists int64
	if err := s.e.queryRow(ctx, `SELECT COUNT(*) FROM instances WHERE id = ?`, instanceID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("logs of %s: %w", instanceID, s.e.translate(err))
	}
	if exists == 0 {
		return nil, fmt.Errorf("instance %s: %w", instanceID, ErrNotFound)
	}
	where := `instance_id = ? AND seq > ?`
	args := []any{instanceID, int64(q.AfterSeq)}
	if !q.Since.IsZero() {
		where += ` AND at >= ?`
		args = append(args, ms(q.Since))
	}
	sel := `SELECT seq, at, frame, stream, event, text FROM instance_logs WHERE ` + where
	if q.Tail > 0 {
		sel = `SELECT * FROM (` + sel + ` ORDER BY seq DESC LIMIT ?) t`
		args = append(args, q.Tail)
	}
	sel += ` ORDER BY seq`
	if q.Limit > 0 {
		sel += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	r, err := s.e.query(ctx, sel, args...)
	if err != nil {
		return nil, fmt.Errorf("logs of %s: %w", instanceID, s.e.translate(err))
	}
	defer r.Close()
	out := []LogEntry{}
	for r.Next() {
		e := LogEntry{InstanceID: instanceID}
		var seq, at, frame int64
		var stream string
		if err := r.Scan(&seq, &at, &frame, &stream, &e.Event, &e.Text); err != nil {
			return nil, fmt.Errorf("logs of %s: %w", instanceID, s.e.translate(err))
		}
		e.Seq, e.Time, e.Frame, e.Stream = uint64(seq), fromMs(at), uint64(frame), LogStream(stream)
		out = append(out, e)
	}
	return out, s.e.translate(r.Err())
}
