package executor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Live migration (docs/snapshots.md, docs/protocol.md "Migration"): the
// source executor has the target prepare (compile the module), pauses the
// instance at a frame boundary, tells its players to hold their inputs and
// waits for their acks, snapshots the instance with its queued events and
// roster, and sends the snapshot to the target, which restores it and runs
// the next frame. The players then get the target's play URL with a
// single-use hand-over ticket each; if the target fails, the instance goes
// on at the source and the players send their held inputs there.

// Defaults of the migration.
const (
	// DefaultMigrateAckWait bounds the wait for the players' acks of a
	// hold; a player that has not answered by then may lose the inputs it
	// sends before it reads the next Migrate frame.
	DefaultMigrateAckWait = 500 * time.Millisecond
	// preparedFor is how long a prepared module waits for its snapshot.
	preparedFor = time.Minute
	// maxMigrateHeader bounds the JSON header of a migration request.
	maxMigrateHeader = 1 << 20
)

// ErrMigrate is wrapped by the errors of Migrate after which the instance
// goes on at this executor.
var ErrMigrate = errors.New("migration failed")

// MigrateTarget says where Migrate moves an instance.
type MigrateTarget struct {
	// URL is the target executor's base URL (http://host:port or
	// ws://host:port), where it serves /migrate/ and /play/.
	URL string
	// Token is the bearer token the target checks: an executor or admin
	// token signed by the coordinator.
	Token auth.Token
	// HTTPClient sends the requests (default http.DefaultClient).
	HTTPClient *http.Client
	// AckWait bounds the wait for the players' acks (default
	// DefaultMigrateAckWait).
	AckWait time.Duration
}

// MigrateResult describes a migration.
type MigrateResult struct {
	// Frame is the last frame run here; the target runs Frame+1 next.
	Frame uint64
	// Paused is the time from the pause to the target's answer, the gap
	// in the instance's frames.
	Paused time.Duration
	// SnapshotBytes is the size of the snapshot sent.
	SnapshotBytes int
	// Players is the number of connected players told to move, Acked the
	// ones that acknowledged the hold in time.
	Players, Acked int
}

// migration is an instance's side of a migration.
type migration struct {
	paused atomic.Bool // runFrame runs no frame
	module []byte      // the module's bytes, for the target's prepare

	mu       sync.Mutex
	acks     map[*session]bool
	acked    chan struct{}     // signalled at every ack
	handover map[string]string // hand-over ticket -> player, on the target
}

// migrateAck records a player's ack of a hold.
func (in *instance) migrateAck(s *session) {
	m := &in.mig
	m.mu.Lock()
	if m.acks != nil {
		m.acks[s] = true
		select {
		case m.acked <- struct{}{}:
		default:
		}
	}
	m.mu.Unlock()
}

// migrateHeader is the JSON line before the module of a prepare and before
// the snapshot of a move.
type migrateHeader struct {
	Game             string          `json:"game"`
	Version          string          `json:"version"`
	Seed             uint64          `json:"seed"`
	MaxPlayers       int             `json:"max_players"`
	TickHz           int             `json:"tick_hz"`
	Params           json.RawMessage `json:"params,omitempty"`
	MemoryLimitPages uint32          `json:"memory_limit_pages,omitempty"`
	InitFuel         int64           `json:"init_fuel,omitempty"`
	FrameFuel        int64           `json:"frame_fuel,omitempty"`
	// AssetsSHA256 names the version's assets, which the target fetches
	// at the prepare.
	AssetsSHA256 string `json:"assets_sha256,omitempty"`
	// CheckpointEveryMs is the instance's checkpoint interval (0: none).
	CheckpointEveryMs int64 `json:"checkpoint_every_ms,omitempty"`
	// Handover maps each player's hand-over ticket to the player.
	Handover map[string]string `json:"handover,omitempty"`
}

// Migrate moves the running instance id to the executor at to, as the
// package doc of migration describes. It returns when the instance runs
// there, or with an error wrapping ErrMigrate after which it runs here
// still (or an error before anything was paused).
func (ex *Executor) Migrate(ctx context.Context, id string, to MigrateTarget) (MigrateResult, error) {
	var res MigrateResult
	in := ex.lookup(id)
	if in == nil {
		return res, fmt.Errorf("migrate instance %s: %w", id, ErrNotFound)
	}
	if st := in.currentState(); st != StateRunning {
		return res, fmt.Errorf("migrate instance %s: it is %s, not running", id, st)
	}
	if in.spec.Assets != nil && in.spec.AssetsSHA256 == "" {
		return res, fmt.Errorf("migrate instance %s: its assets have no sha256 for the target to fetch them by", id)
	}
	if to.HTTPClient == nil {
		to.HTTPClient = http.DefaultClient
	}
	if to.AckWait <= 0 {
		to.AckWait = DefaultMigrateAckWait
	}
	base, err := httpBase(to.URL)
	if err != nil {
		return res, fmt.Errorf("migrate instance %s: %w", id, err)
	}
	spec := in.spec
	head := migrateHeader{Game: spec.Game, Version: spec.Version, Seed: spec.Seed, MaxPlayers: spec.MaxPlayers,
		TickHz: spec.TickHz, Params: spec.Params, MemoryLimitPages: spec.MemoryLimitPages,
		InitFuel: spec.InitFuel, FrameFuel: spec.FrameFuel, AssetsSHA256: spec.AssetsSHA256,
		CheckpointEveryMs: spec.CheckpointEvery.Milliseconds()}
	// The target compiles (and fetches the assets) while the instance
	// still runs here.
	if err := postMigration(ctx, to, base+"/migrate/"+url.PathEscape(id)+"/prepare", head, in.mig.module); err != nil {
		return res, fmt.Errorf("migrate instance %s: prepare the target: %w", id, err)
	}

	in.guestMu.Lock() // waits for a frame under way
	in.mig.paused.Store(true)
	in.guestMu.Unlock()
	pausedAt := time.Now()
	fail := func(err error) (MigrateResult, error) {
		in.mig.mu.Lock()
		in.mig.acks = nil
		in.mig.mu.Unlock()
		in.broadcast(&protocol.Migrate{Phase: protocol.MigrateStay})
		in.mig.paused.Store(false)
		in.log.Warn("migration failed, going on here", "err", err)
		return res, fmt.Errorf("migrate instance %s: %w: %w", id, ErrMigrate, err)
	}

	res.Players, res.Acked = in.hold(ctx, to.AckWait)

	in.guestMu.Lock()
	if in.wasm == nil {
		in.guestMu.Unlock()
		return res, fmt.Errorf("migrate instance %s: it ended", id)
	}
	snap, err := in.wasm.Snapshot()
	if err != nil {
		in.guestMu.Unlock()
		return fail(err)
	}
	res.Frame = in.frame.Load()
	in.hostMu.Lock()
	tickets := map[string]string{} // player -> ticket
	head.Handover = map[string]string{}
	for player := range in.roster {
		t := newHandoverTicket()
		tickets[player] = t
		head.Handover[t] = player
		snap.Players = append(snap.Players, player)
	}
	for _, ev := range in.pending {
		ev.Data = bytes.Clone(ev.Data)
		snap.Pending = append(snap.Pending, ev)
	}
	in.hostMu.Unlock()
	in.guestMu.Unlock()

	var body bytes.Buffer
	if _, err := snap.WriteTo(&body); err != nil {
		return fail(err)
	}
	res.SnapshotBytes = body.Len()
	if err := postMigration(ctx, to, base+"/migrate/"+url.PathEscape(id), head, body.Bytes()); err != nil {
		return fail(err)
	}
	res.Paused = time.Since(pausedAt)

	for _, s := range *in.sessions.Load() {
		u, err := handoverURL(to.URL, id, tickets[s.player])
		if err != nil {
			continue // cannot happen: the URL parsed above
		}
		if msg, err := protocol.Encode(&protocol.Migrate{Phase: protocol.MigrateGo, URL: u}); err == nil {
			s.send(msg)
		}
	}
	in.log.Info("instance migrated", "target", base, "frame", res.Frame, "paused_ms", float64(res.Paused.Microseconds())/1000,
		"snapshot_bytes", res.SnapshotBytes, "players", res.Players, "acked", res.Acked)
	// The instance is the target's now: this executor forgets it before
	// it ends, so that no report of it leaves from here.
	ex.mu.Lock()
	if ex.instances[id] == in {
		delete(ex.instances, id)
	}
	ex.mu.Unlock()
	in.end(context.WithoutCancel(ctx), StateStopped, stopError(lifecycle.ReasonMigrated))
	return res, nil
}

// hold tells the connected players to hold their inputs and waits, at
// most wait, for each to ack or leave.
func (in *instance) hold(ctx context.Context, wait time.Duration) (players, acked int) {
	sessions := *in.sessions.Load()
	m := &in.mig
	m.mu.Lock()
	m.acks = make(map[*session]bool, len(sessions))
	m.acked = make(chan struct{}, 1)
	m.mu.Unlock()
	in.broadcast(&protocol.Migrate{Phase: protocol.MigrateHold})
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		n := 0
		for _, s := range sessions {
			select {
			case <-s.done:
				n++
				continue
			default:
			}
			if m.acks[s] {
				n++
			}
		}
		acked = len(m.acks)
		m.mu.Unlock()
		if n == len(sessions) {
			return len(sessions), acked
		}
		select {
		case <-m.acked:
		case <-deadline.C:
			return len(sessions), acked
		case <-ctx.Done():
			return len(sessions), acked
		case <-time.After(10 * time.Millisecond): // a session may end without acking
		}
	}
}

// broadcast sends f to every connected player.
func (in *instance) broadcast(f protocol.Frame) {
	msg, err := protocol.Encode(f)
	if err != nil {
		return
	}
	for _, s := range *in.sessions.Load() {
		s.send(msg)
	}
}

func newHandoverTicket() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// handoverURL is the play URL of instance id on the executor at base,
// carrying a hand-over ticket.
func handoverURL(base, id, ticket string) (string, error) {
	u, err := protocol.PlayURL(base, id, "x")
	if err != nil {
		return "", err
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	p.RawQuery = url.Values{"handover": {ticket}}.Encode()
	return p.String(), nil
}

// httpBase turns an executor's ws:// or http:// URL into its http:// base.
func httpBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse target url: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("target url %q: scheme must be ws, wss, http or https", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// postMigration sends the header line and the payload, and turns a refusal
// into an error carrying the target's text.
func postMigration(ctx context.Context, to MigrateTarget, u string, head migrateHeader, payload []byte) error {
	line, err := json.Marshal(head)
	if err != nil {
		return err
	}
	body := io.MultiReader(bytes.NewReader(line), strings.NewReader("\n"), bytes.NewReader(payload))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+string(to.Token))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := to.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("target answered %s: %s", resp.Status, strings.TrimSpace(string(text)))
	}
	return nil
}

// prepared is a module compiled for a migration that has not arrived yet.
type prepared struct {
	module  *wasmhost.Module
	assets  fs.FS
	bytes   []byte
	head    migrateHeader
	expires time.Time
}

// preparedModules holds the targets' side between prepare and move.
type preparedModules struct {
	mu sync.Mutex
	m  map[string]prepared
}

func (p *preparedModules) put(id string, v prepared) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]prepared{}
	}
	now := time.Now()
	for k, old := range p.m {
		if now.After(old.expires) {
			delete(p.m, k)
		}
	}
	p.m[id] = v
}

func (p *preparedModules) take(id string) (prepared, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[id]
	delete(p.m, id)
	return v, ok && time.Now().Before(v.expires)
}

// readMigration reads the header line of a migration request; the rest of
// the body is the payload.
func readMigration(r *http.Request) (migrateHeader, *bufio.Reader, error) {
	br := bufio.NewReaderSize(http.MaxBytesReader(nil, r.Body, 1<<32), 64<<10)
	var head migrateHeader
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) > maxMigrateHeader {
		return head, nil, fmt.Errorf("read the header line: %v", err)
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return head, nil, fmt.Errorf("header: %w", err)
	}
	return head, br, nil
}

// servePrepare is POST /migrate/{instance}/prepare: the header line, then
// the module's bytes, which the target compiles.
func (ex *Executor) servePrepare(w http.ResponseWriter, r *http.Request) {
	if _, ok := ex.authorize(w, r, "move instances", auth.RoleExecutor, auth.RoleAdmin); !ok {
		return
	}
	id := r.PathValue("instance")
	head, br, err := readMigration(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	module, err := io.ReadAll(br)
	if err != nil {
		http.Error(w, "read the module: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in := ex.lookup(id); in != nil && !in.currentState().Ended() {
		http.Error(w, "instance "+id+" runs here already", http.StatusConflict)
		return
	}
	m, err := ex.engine.Compile(r.Context(), module)
	if err != nil {
		http.Error(w, "compile: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	var assets fs.FS
	if head.AssetsSHA256 != "" {
		if ex.cfg.FetchAssets == nil {
			http.Error(w, "this executor cannot fetch assets", http.StatusUnprocessableEntity)
			return
		}
		if assets, err = ex.cfg.FetchAssets(r.Context(), id, head.AssetsSHA256); err != nil {
			http.Error(w, "fetch the assets: "+err.Error(), http.StatusUnprocessableEntity)
			return
		}
	}
	ex.prepared.put(id, prepared{module: m, assets: assets, bytes: module, head: head, expires: time.Now().Add(preparedFor)})
	w.WriteHeader(http.StatusOK)
}

// serveMove is POST /migrate/{instance}: the header line with the
// hand-over tickets, then the snapshot, which the target restores and
// runs.
func (ex *Executor) serveMove(w http.ResponseWriter, r *http.Request) {
	if _, ok := ex.authorize(w, r, "move instances", auth.RoleExecutor, auth.RoleAdmin); !ok {
		return
	}
	id := r.PathValue("instance")
	head, br, err := readMigration(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	prep, ok := ex.prepared.take(id)
	if !ok {
		http.Error(w, "instance "+id+" was not prepared here (or its preparation expired)", http.StatusConflict)
		return
	}
	snap, err := wasmhost.ReadSnapshot(br, ex.engine.Config().MemoryLimitPages)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if snap.InstanceID != id {
		http.Error(w, fmt.Sprintf("the snapshot is of instance %s, not %s", snap.InstanceID, id), http.StatusBadRequest)
		return
	}
	ph := prep.head
	spec := InstanceSpec{ID: id, Game: ph.Game, Version: ph.Version, Seed: ph.Seed, MaxPlayers: ph.MaxPlayers,
		TickHz: ph.TickHz, Params: ph.Params, MemoryLimitPages: ph.MemoryLimitPages, InitFuel: ph.InitFuel,
		FrameFuel: ph.FrameFuel, Module: prep.bytes, Assets: prep.assets, AssetsSHA256: ph.AssetsSHA256,
		CheckpointEvery: time.Duration(ph.CheckpointEveryMs) * time.Millisecond}
	if err := ex.adopt(r.Context(), spec, prep.module, snap, head.Handover); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// adopt starts instance spec.ID from a snapshot and schedules its next
// frame now: its roster are players away (within the reconnect grace)
// until they come back with their hand-over tickets.
func (ex *Executor) adopt(ctx context.Context, spec InstanceSpec, m *wasmhost.Module, snap *wasmhost.Snapshot, handover map[string]string) error {
	ex.mu.Lock()
	if old, ok := ex.instances[spec.ID]; ok && !old.currentState().Ended() {
		ex.mu.Unlock()
		return fmt.Errorf("instance %s: %w", spec.ID, ErrExists)
	}
	in := newInstance(ex, spec)
	ex.instances[spec.ID] = in
	ex.mu.Unlock()
	in.log = in.log.With("migrated_at_frame", snap.Frame)
	w, err := m.Restore(ctx, snap, ex.instanceConfig(in))
	if err != nil {
		in.end(ctx, StateFailed, err)
		return fmt.Errorf("restore: %w", err)
	}
	now := time.Now()
	in.guestMu.Lock()
	in.hostMu.Lock()
	in.wasm = w
	in.live.Store(w)
	in.frame.Store(snap.Frame)
	in.curFrame.Store(snap.Frame)
	for _, p := range snap.Players {
		in.roster[p] = &member{awaySince: now}
		in.away++
	}
	in.pending = append(in.pending, snap.Pending...)
	in.mig.handover = handover
	in.state = StateRunning
	in.hostMu.Unlock()
	in.guestMu.Unlock()
	in.log.Info("instance running after migration", "frame", snap.Frame, "players", len(snap.Players))
	in.logs.event(snap.Frame, EventStarted, fmt.Sprintf("moved here at frame %d, %d players", snap.Frame, len(snap.Players)))
	ex.changed(in)
	if in.ckpt != nil {
		go in.ckpt.run(context.WithoutCancel(ctx))
	}
	ex.sched.add(in, now)
	return nil
}

// checkHandover spends a hand-over ticket of instance id and returns its
// player.
func (ex *Executor) checkHandover(ticket, id string) (player string, code protocol.CloseCode, detail string) {
	in := ex.awaitStarted(context.Background(), id)
	if in == nil {
		return "", protocol.CloseInstanceNotFound, ""
	}
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	player, ok := in.mig.handover[ticket]
	if !ok {
		return "", protocol.CloseTicketInvalid, "unknown or spent hand-over ticket"
	}
	delete(in.mig.handover, ticket)
	return player, 0, ""
}
