package executor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// ReplayExt is the file name extension of the input logs in
// Config.ReplayDir: instance id + ReplayExt.
const ReplayExt = ".rcclog"

// replayFlushFrames is how often, in frames, a recording is flushed, so that
// a log can be read while its instance runs.
const replayFlushFrames = 60

// recorder writes an instance's input log (pkg/replay). It is used under
// the instance's guestMu only. A write error stops the recording, never the
// instance.
type recorder struct {
	w      *replay.Writer
	closer io.Closer
	log    *slog.Logger
	frames int
	events []replay.Event
}

// newRecorder writes the log's header for spec, whose Module is still set.
// It returns nil when the header cannot be written.
func newRecorder(spec InstanceSpec, log *slog.Logger) *recorder {
	sum := sha256.Sum256(spec.Module)
	r := &recorder{log: log}
	r.closer, _ = spec.Record.(io.Closer)
	w, err := replay.NewWriter(spec.Record, replay.Header{
		Game: spec.Game, Version: spec.Version, InstanceID: spec.ID,
		ModuleSHA256: hex.EncodeToString(sum[:]), Seed: spec.Seed,
		MaxPlayers: spec.MaxPlayers, TickHz: spec.TickHz, Params: spec.Params,
		InitFuel: spec.InitFuel, FrameFuel: spec.FrameFuel, MemoryLimitPages: spec.MemoryLimitPages,
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		r.fail(err)
		return nil
	}
	r.w = w
	return r
}

var recordKinds = [...]string{
	wasmhost.EventJoin: replay.KindJoin, wasmhost.EventLeave: replay.KindLeave, wasmhost.EventInput: replay.KindInput,
}

// frame records one frame (one tick): its events in the order given to the
// guest and the hash of the state bytes it produced (empty for a frame that
// failed, which a replay then runs without checking).
func (r *recorder) frame(n uint64, events []wasmhost.Event, stateBytes []byte, failed bool) {
	if r.w == nil {
		return
	}
	r.events = r.events[:0]
	for _, e := range events {
		kind := replay.KindInput
		if int(e.Kind) < len(recordKinds) && recordKinds[e.Kind] != "" {
			kind = recordKinds[e.Kind]
		}
		r.events = append(r.events, replay.Event{Kind: kind, Player: e.Player, Data: e.Data})
	}
	f := replay.Frame{Frame: n, Events: r.events}
	if !failed {
		sum := sha256.Sum256(stateBytes)
		f.StateSHA256 = hex.EncodeToString(sum[:])
	}
	err := r.w.WriteFrame(f)
	clear(r.events)
	if r.frames++; err == nil && r.frames%replayFlushFrames == 0 {
		err = r.w.Flush()
	}
	if err != nil {
		r.fail(err)
	}
}

// close flushes the log and closes its writer when it is an io.Closer.
func (r *recorder) close() {
	if r.w != nil {
		if err := r.w.Flush(); err != nil {
			r.fail(err)
		}
	}
	r.w = nil
	if r.closer != nil {
		if err := r.closer.Close(); err != nil {
			r.log.Warn("close input log", "err", err)
		}
		r.closer = nil
	}
}

// fail stops the recording after an error, logging it once.
func (r *recorder) fail(err error) {
	r.log.Error("input log write failed; recording stopped, the instance goes on", "err", err)
	r.w = nil
}

// closeRecord closes spec.Record, for a Start that fails before the
// instance exists.
func closeRecord(spec InstanceSpec) {
	if c, ok := spec.Record.(io.Closer); ok {
		_ = c.Close()
	}
}

// replayPath returns the input log file of instance id in dir, refusing
// ids that are not a plain file name.
func replayPath(dir, id string) (string, error) {
	if dir == "" {
		return "", errors.New("no replay directory configured")
	}
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") || !filepath.IsLocal(id) {
		return "", fmt.Errorf("instance id %q is not a file name", id)
	}
	return filepath.Join(dir, id+ReplayExt), nil
}

// CreateReplay creates (or truncates) the input log file of instance id in
// Config.ReplayDir, creating the directory, for InstanceSpec.Record. The
// file is readable by its owner only: it holds the players' inputs.
func (ex *Executor) CreateReplay(id string) (*os.File, error) {
	p, err := replayPath(ex.cfg.ReplayDir, id)
	if err != nil {
		return nil, fmt.Errorf("create input log: %w", err)
	}
	if err := os.MkdirAll(ex.cfg.ReplayDir, 0o700); err != nil {
		return nil, fmt.Errorf("create input log: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create input log: %w", err)
	}
	return f, nil
}

// serveReplay serves GET /replays/{instance}: the instance's input log from
// Config.ReplayDir, up to its last complete line, to a bearer of an admin
// token.
func (ex *Executor) serveReplay(w http.ResponseWriter, r *http.Request) {
	if _, ok := ex.authorize(w, r, "read input logs", auth.RoleAdmin); !ok {
		return
	}
	id := r.PathValue("instance")
	p, err := replayPath(ex.cfg.ReplayDir, id)
	if err != nil {
		http.Error(w, "no input log for instance "+id, http.StatusNotFound)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		http.Error(w, "no input log for instance "+id, http.StatusNotFound)
		return
	}
	defer f.Close()
	size, err := completeLines(f)
	if err != nil {
		http.Error(w, "read input log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Length", fmt.Sprint(size))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s%s"`, id, ReplayExt))
	if _, err := io.Copy(w, io.NewSectionReader(f, 0, size)); err != nil {
		ex.log.Debug("serve input log", "instance", id, "err", err)
	}
}

// completeLines returns the length of f up to its last newline: a log being
// written may end in a partly written line.
func completeLines(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	buf := make([]byte, 32<<10)
	for end > 0 {
		n := min(end, int64(len(buf)))
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}
