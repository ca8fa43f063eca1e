package agent

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/lifecycle/lifecyclepb"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// DialOptions are the gRPC options an executor's client should be dialled
// with (client.Dial(addr, token, agent.DialOptions()...)): reconnect at
// least every second while the coordinator is away, so that the executor
// is back before the coordinator's liveness window ends.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           grpcbackoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: 5 * time.Second,
	})}
}

// Defaults of Config.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// endedMemory is how long the id of an ended instance is remembered,
	// so that a Start resent for it is answered with its end rather than
	// started again.
	endedMemory = 30 * time.Minute
	// maxReasonBytes caps the reason text sent to the coordinator.
	maxReasonBytes = 512
	// DefaultLogInterval is how often instances' new log entries are
	// pushed to the coordinator.
	DefaultLogInterval = 250 * time.Millisecond
	// maxLogBatch bounds the entries of one push (the coordinator takes
	// up to 10,000).
	maxLogBatch = 5000
	// maxSnapshotHz caps a snapshot rate from the coordinator at the
	// executor's largest.
	maxSnapshotHz = 1000
)

// ErrIDChanged means the coordinator gave the executor another id when it
// registered again (its database was replaced): tickets now name an id this
// executor cannot take, so it must be restarted.
var ErrIDChanged = errors.New("the coordinator changed this executor's id")

// Config configures an Agent.
type Config struct {
	// Client is a connection to the coordinator whose token is an
	// executor token with Name as its subject. Required.
	Client *client.Client
	// Name is the executor's stable name (the host name, say). Required.
	Name string
	// WSURL is the base WebSocket URL players are given
	// (ws://host:port). Required.
	WSURL string
	// Capacity is the most instances the coordinator places here (0: no
	// limit); Labels and Version are announced with the registration.
	Capacity uint32
	Labels   map[string]string
	Version  string
	// DataDir keeps fetched modules and assets, by sha256, and the input
	// logs of recorded instances. Required.
	DataDir string
	// BlobCacheBytes bounds the modules and assets kept in DataDir, the
	// unpacked assets counted (default DefaultBlobCacheBytes; negative: no
	// bound). Past it, the least recently used ones that no starting or
	// running instance uses are removed.
	BlobCacheBytes int64
	// Executor configures the executor; the agent sets its ID, Verifier
	// and OnChange, its Logger when nil and its ReplayDir (where the input
	// logs of instances spawned with record go) when empty:
	// DataDir/replays.
	Executor executor.Config
	// Credentials, when set, are the renewable credentials Client sends:
	// the agent renews the token (ExecutorService.RenewToken) at two
	// thirds of its life, and gives each new one to OnTokenRenewed (when
	// set), to write it back where it was read from.
	Credentials    *auth.RenewableCredentials
	OnTokenRenewed func(auth.Token)
	// Token, when Credentials is not set, is the executor token of Client,
	// presented to the target
	// executor of a live migration. Without either, migrations fail.
	Token auth.Token
	// MigrateOnDrain makes Drain ask the coordinator to move the running
	// instances to other executors first (live migration).
	MigrateOnDrain bool
	// Logger receives the agent's logs; slog.Default() when nil.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the waits between reconnection
	// attempts (defaults 100 ms and 5 s), doubled after each failure.
	MinBackoff, MaxBackoff time.Duration
	// LogInterval is how often the instances' new log entries are pushed
	// to the coordinator (default DefaultLogInterval). An instance's last
	// entries are pushed before its end is reported, whatever the interval.
	LogInterval time.Duration
}

// Agent links one executor to its coordinator. Create it with New and run
// it with Run.
type Agent struct {
	cfg   Config
	log   *slog.Logger
	c     *client.Client
	ex    *executor.Executor
	blobs *blobCache
	retry backoff

	id       string
	interval atomic.Int64 // heartbeat interval, ns
	draining atomic.Bool

	changes chan executor.InstanceStatus
	linkUp  chan struct{} // heartbeats go through again: reconnect the stream now
	wake    chan struct{} // an instance changed state, for Drain
	starts  sync.WaitGroup

	mu       sync.Mutex
	starting map[string]*pendingStart
	uses     map[string][]string // instance id: the blobs (sha256) it was started with
	ended    map[string]endRecord
	admitted map[string][]string // taken from the executor, not yet delivered

	// logMu serialises pushes of log entries; logSent is, per instance,
	// the Seq of the last entry pushed.
	logMu   sync.Mutex
	logSent map[string]uint64
}

// pendingStart is a Start being prepared (its module being fetched).
type pendingStart struct {
	cancel     context.CancelFunc // cancels the fetch
	stopReason lifecycle.Reason   // a Stop arrived meanwhile
}

// endRecord is an ended instance the coordinator was told about.
type endRecord struct {
	report *rccv1.InstanceReport
	at     time.Time
}

// New registers the executor with the coordinator, trying again with
// backoff while the coordinator cannot be reached (until ctx ends), and
// creates the executor with the id and the ticket key it answered. A token
// the coordinator refuses ends New at once.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("new agent: no coordinator client")
	case cfg.Name == "":
		return nil, errors.New("new agent: empty executor name")
	case cfg.WSURL == "":
		return nil, errors.New("new agent: empty WebSocket URL")
	case cfg.DataDir == "":
		return nil, errors.New("new agent: empty data directory")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	a := &Agent{
		cfg:      cfg,
		log:      cfg.Logger.With("name", cfg.Name),
		c:        cfg.Client,
		retry:    backoff{min: cfg.MinBackoff, max: cfg.MaxBackoff},
		changes:  make(chan executor.InstanceStatus, 4096),
		wake:     make(chan struct{}, 1),
		linkUp:   make(chan struct{}, 1),
		starting: map[string]*pendingStart{},
		uses:     map[string][]string{},
		ended:    map[string]endRecord{},
		admitted: map[string][]string{},
		logSent:  map[string]uint64{},
	}
	blobs, err := newBlobCache(cfg.DataDir, cfg.Client, a.retry)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	if cfg.BlobCacheBytes != 0 {
		blobs.limit = cfg.BlobCacheBytes
	}
	blobs.log, blobs.inUse = a.log, a.blobsInUse
	a.blobs = blobs
	pub, err := a.register(ctx)
	if err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	v, err := a.ticketVerifier(ctx, pub)
	if err != nil {
		return nil, fmt.Errorf("new agent: ticket key: %w", err)
	}
	ecfg := cfg.Executor
	ecfg.ID = a.id
	ecfg.Verifier = v
	ecfg.OnChange = a.onChange
	ecfg.FetchAssets = a.fetchAssets
	if ecfg.Checkpoints == nil {
		ecfg.Checkpoints = checkpointSink{a: a}
	}
	if ecfg.ReplayDir == "" {
		ecfg.ReplayDir = filepath.Join(cfg.DataDir, "replays")
	}
	if ecfg.Logger == nil {
		ecfg.Logger = cfg.Logger
	}
	if a.ex, err = executor.New(ctx, ecfg); err != nil {
		return nil, fmt.Errorf("new agent: %w", err)
	}
	a.log = a.log.With("executor", a.id)
	return a, nil
}

// KeyRefreshInterval is the least time between two fetches of the
// coordinator's key set prompted by tickets naming an unknown key.
const KeyRefreshInterval = 10 * time.Second

// ticketVerifier checks tickets with the coordinator's key set (its JWKS),
// fetched again when a ticket names a key it does not know (a rotation),
// at most once per KeyRefreshInterval. A coordinator without PublicKeys
// gives the registration's single key.
func (a *Agent) ticketVerifier(ctx context.Context, pub ed25519.PublicKey) (*auth.Verifier, error) {
	fetch := func(ctx context.Context) (map[string]crypto.PublicKey, error) {
		res, err := a.c.Executors.PublicKeys(ctx, &rccv1.PublicKeysRequest{})
		if err != nil {
			return nil, err
		}
		return auth.ParseJWKS(res.Jwks)
	}
	keys, err := fetch(ctx)
	if status.Code(err) == codes.Unimplemented {
		return auth.NewVerifier(pub, auth.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the coordinator's keys: %w", err)
	}
	v, err := auth.NewKeySetVerifier(keys, auth.Options{})
	if err != nil {
		return nil, err
	}
	v.RefreshOnUnknownKey(KeyRefreshInterval, func() (map[string]crypto.PublicKey, error) {
		// Called while a player's ticket is checked, which has no context of
		// its own: the fetch is bounded here.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		keys, err := fetch(fctx)
		if err != nil {
			a.log.Warn("could not fetch the coordinator's keys", "err", err)
		} else {
			a.log.Info("fetched the coordinator's keys", "keys", len(keys))
		}
		return keys, err
	})
	return v, nil
}

// ID is the executor's id, as the coordinator assigned it.
func (a *Agent) ID() string { return a.id }

// Executor is the executor the agent drives: serve its Handler and
// MetricsHandler. Close it after Run has returned.
func (a *Agent) Executor() *executor.Executor { return a.ex }

// Draining reports whether the executor is draining: the coordinator
// places no new instance on it.
func (a *Agent) Draining() bool { return a.draining.Load() }

// register registers the executor, trying again with backoff while the
// coordinator is unreachable, and returns the ticket key.
func (a *Agent) register(ctx context.Context) (ed25519.PublicKey, error) {
	req := &rccv1.RegisterExecutorRequest{Name: a.cfg.Name, WsUrl: a.cfg.WSURL, Capacity: a.cfg.Capacity,
		Labels: a.cfg.Labels, Version: a.cfg.Version}
	delay := a.retry.min
	for attempt := 1; ; attempt++ {
		res, err := a.c.Executors.Register(ctx, req)
		if err == nil {
			id := res.GetExecutor().GetId()
			if a.id != "" && id != a.id {
				return nil, fmt.Errorf("%w: was %s, now %s: restart the executor", ErrIDChanged, a.id, id)
			}
			if a.id == "" {
				a.id = id // set once, in New, before any other goroutine reads it
			}
			a.interval.Store(int64(max(time.Duration(res.HeartbeatIntervalMs)*time.Millisecond, 50*time.Millisecond)))
			if res.GetExecutor().GetState() == rccv1.ExecutorState_EXECUTOR_STATE_DRAINING {
				a.draining.Store(true)
			}
			a.log.Info("registered with the coordinator", "executor", id, "ws_url", a.cfg.WSURL,
				"heartbeat_interval", a.heartbeatInterval().String())
			return ed25519.PublicKey(res.TicketPublicKey), nil
		}
		if permanent(err) {
			return nil, fmt.Errorf("register executor %s: %w", a.cfg.Name, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("register executor %s: %w", a.cfg.Name, ctx.Err())
		}
		if attempt == 1 || attempt%10 == 0 {
			if status.Code(err) == codes.FailedPrecondition {
				// Another executor is live under this name at another URL;
				// this one may take the name once that one is lost.
				a.log.Warn("registration refused, registering again", "err", err, "attempt", attempt)
			} else {
				a.log.Warn("coordinator unreachable, registering again", "err", err, "attempt", attempt)
			}
		}
		if !sleep(ctx, a.retry.jitter(delay)) {
			return nil, fmt.Errorf("register executor %s: %w", a.cfg.Name, ctx.Err())
		}
		delay = a.retry.next(delay)
	}
}

// permanent reports errors that retrying does not cure.
func permanent(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument, codes.Unimplemented:
		return true
	}
	return false
}

func (a *Agent) heartbeatInterval() time.Duration { return time.Duration(a.interval.Load()) }

// Run runs the executor and keeps its links to the coordinator until ctx
// ends. Then it stops every instance still running (reason
// executor_shutdown, players closed with protocol.CloseExecutorShutdown),
// reports them (for up to 3 s) and returns. It returns an error only when
// the link cannot go on (ErrIDChanged).
func (a *Agent) Run(ctx context.Context) error {
	exCtx, stopEx := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEx()
	exDone := make(chan struct{})
	go func() { defer close(exDone); _ = a.ex.Run(exCtx) }()

	linkCtx, stopLinks := context.WithCancel(ctx)
	defer stopLinks()
	fatal := make(chan error, 2)
	var links sync.WaitGroup
	if creds := a.cfg.Credentials; creds != nil {
		links.Go(func() {
			creds.RenewLoop(linkCtx, a.log, a.retry.max, func(ctx context.Context) (auth.Token, error) {
				res, err := a.c.Executors.RenewToken(ctx, &rccv1.RenewTokenRequest{})
				if err != nil {
					return "", err
				}
				return auth.Token(res.Token), nil
			}, a.cfg.OnTokenRenewed)
		})
	}
	links.Add(4)
	go func() { defer links.Done(); a.reportLoop(linkCtx) }()
	go func() { defer links.Done(); a.logLoop(linkCtx) }()
	go func() {
		defer links.Done()
		if err := a.assignmentLoop(linkCtx); err != nil {
			fatal <- err
		}
	}()
	go func() {
		defer links.Done()
		if err := a.heartbeatLoop(linkCtx); err != nil {
			fatal <- err
		}
	}()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-fatal:
		a.log.Error("executor link failed", "err", runErr)
	}
	stopLinks()
	links.Wait()
	a.mu.Lock()
	for _, ps := range a.starting {
		ps.cancel()
	}
	a.mu.Unlock()
	a.starts.Wait()
	stopEx()
	<-exDone

	// Tell the coordinator how every instance ended, briefly.
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := a.pushLogs(final, ""); err != nil {
		a.log.Warn("could not push the instances' last log entries", "err", err)
	}
	for _, st := range a.ex.Instances() {
		if final.Err() != nil {
			break
		}
		if _, err := a.report(final, reportOf(st, nil)); err != nil {
			a.log.Warn("could not report an instance's end", "instance", st.ID, "err", err)
		}
	}
	a.log.Info("agent stopped")
	return runErr
}

// Drain asks the coordinator to place no new instance on this executor
// (and with Config.MigrateOnDrain to move its running instances to other
// executors), then waits until none runs (their leases expire, operators
// stop them) or ctx ends, whose error it then returns.
func (a *Agent) Drain(ctx context.Context) error {
	a.draining.Store(true)
	if _, err := a.c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: a.id, Migrate: a.cfg.MigrateOnDrain}); err != nil {
		a.log.Warn("coordinator did not take the drain; waiting for the instances anyway", "err", err)
	}
	for {
		live := 0
		for _, st := range a.ex.Instances() {
			if !st.State.Ended() {
				live++
			}
		}
		if live == 0 {
			a.log.Info("drained: no instance runs")
			return nil
		}
		a.log.Info("draining", "instances", live)
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d instances still run: %w", live, ctx.Err())
		case <-a.wake:
		case <-time.After(5 * time.Second):
		}
	}
}

// onChange is the executor's Config.OnChange: it must not block.
func (a *Agent) onChange(st executor.InstanceStatus) {
	select {
	case a.changes <- st:
	default: // the next heartbeat carries it
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// reportLoop sends each state change of an instance at once.
func (a *Agent) reportLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-a.changes:
			if st.Reason == lifecycle.ReasonMigrated {
				continue // its new executor reports it (migrate.go)
			}
			switch st.State {
			case executor.StateRunning, executor.StateStopped, executor.StateFailed:
			default:
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := a.report(rctx, reportOf(st, nil))
			cancel()
			if err != nil && ctx.Err() == nil {
				a.log.Warn("instance report failed; the next heartbeat carries it", "instance", st.ID, "state", st.State, "err", err)
			}
		}
	}
}

// report sends one instance report. An ended instance the coordinator
// acknowledged (or does not assign here) is forgotten by the executor and
// remembered by the agent.
func (a *Agent) report(ctx context.Context, r *rccv1.InstanceReport) (*rccv1.Instance, error) {
	if terminal(r.State) {
		// Its last lines first: who follows its log sees them before
		// the end.
		if err := a.pushLogs(ctx, r.InstanceId); err != nil && ctx.Err() == nil {
			a.log.Warn("could not push an instance's last log entries", "instance", r.InstanceId, "err", err)
		}
	}
	in, err := a.c.Executors.ReportInstance(ctx, &rccv1.ReportInstanceRequest{ExecutorId: a.id, Report: r}, grpc.WaitForReady(true))
	switch status.Code(err) {
	case codes.OK, codes.NotFound, codes.FailedPrecondition, codes.Aborted:
		if terminal(r.State) {
			a.forget(r)
		}
	}
	if err == nil {
		a.log.Debug("instance reported", "instance", r.InstanceId, "state", r.State.String(), "reason", r.Reason)
	}
	return in, err
}

func terminal(s rccv1.InstanceState) bool { return lifecyclepb.StateFromProto(s).Ended() }

// forget drops an ended instance from the executor once reported.
func (a *Agent) forget(r *rccv1.InstanceReport) {
	_ = a.ex.Forget(r.InstanceId)
	now := time.Now()
	a.mu.Lock()
	a.ended[r.InstanceId] = endRecord{report: &rccv1.InstanceReport{InstanceId: r.InstanceId, State: r.State, Reason: r.Reason}, at: now}
	for id, e := range a.ended {
		if now.Sub(e.at) > endedMemory {
			delete(a.ended, id)
		}
	}
	delete(a.admitted, r.InstanceId)
	a.mu.Unlock()
	a.logMu.Lock()
	delete(a.logSent, r.InstanceId)
	a.logMu.Unlock()
}

// reportOf is the coordinator's view of an instance's status.
func reportOf(st executor.InstanceStatus, joined []string) *rccv1.InstanceReport {
	r := &rccv1.InstanceReport{InstanceId: st.ID, State: lifecyclepb.StateToProto(st.State), Players: uint32(len(st.Players)),
		JoinedPlayers: joined}
	if st.State.Ended() {
		r.Players = 0
		r.Reason = reasonText(st)
	}
	return r
}

// statsOf is an instance's live figures, as heartbeats carry them.
func statsOf(st executor.InstanceStatus) *rccv1.InstanceStats {
	return &rccv1.InstanceStats{
		TickP50Ms: ms(st.TickP50), TickP99Ms: ms(st.TickP99), MemoryBytes: int64(st.MemoryBytes),
		FuelP50: st.FuelP50, FuelMax: st.FuelMax, Frames: st.Frames, Overruns: st.Overruns,
	}
}

// reasonText is the reason the coordinator shows: the sandbox's reason
// first (fuel_exhausted, trap, ...), then what failed and the guest's
// last stderr line (executor.ReasonText), cut to maxReasonBytes.
func reasonText(st executor.InstanceStatus) string {
	return truncate(executor.ReasonText(st.State, st.Reason, st.Detail))
}

// heartbeatLoop heartbeats at the interval the coordinator asked for.
func (a *Agent) heartbeatLoop(ctx context.Context) error {
	failing := false
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := a.heartbeat(ctx)
		switch {
		case errors.Is(err, ErrIDChanged):
			return err
		case err != nil && ctx.Err() == nil:
			if !failing {
				a.log.Warn("heartbeat failed; instances keep running", "err", err)
			}
			failing = true
		case err == nil && failing:
			a.log.Info("heartbeats go through again")
			failing = false
			select {
			case a.linkUp <- struct{}{}:
			default:
			}
		}
		t.Reset(a.heartbeatInterval())
	}
}

func (a *Agent) heartbeat(ctx context.Context) error {
	sts := a.ex.Instances()
	reports := make([]*rccv1.InstanceReport, 0, len(sts))
	a.mu.Lock()
	for _, st := range sts {
		joined := append(a.admitted[st.ID], a.ex.TakeAdmitted(st.ID)...)
		if len(joined) > 0 {
			a.admitted[st.ID] = joined
		}
		r := reportOf(st, joined)
		if !st.State.Ended() {
			r.Stats = statsOf(st)
		}
		reports = append(reports, r)
	}
	a.mu.Unlock()
	for _, r := range reports {
		if terminal(r.State) {
			// Ended instances are forgotten below: push their last lines.
			if err := a.pushLogs(ctx, ""); err != nil && ctx.Err() == nil {
				a.log.Debug("log push before the heartbeat failed", "err", err)
			}
			break
		}
	}
	stats := a.ex.Stats()
	live := uint32(0)
	for s, n := range stats.Instances {
		if !s.Ended() {
			live += uint32(n)
		}
	}
	hctx, cancel := context.WithTimeout(ctx, max(2*a.heartbeatInterval(), 5*time.Second))
	defer cancel()
	res, err := a.c.Executors.Heartbeat(hctx, &rccv1.HeartbeatRequest{ExecutorId: a.id, Instances: reports,
		Stats: &rccv1.ExecutorStats{
			Players: uint32(stats.Players), Instances: live,
			TickP50Ms: ms(stats.TickP50), TickP99Ms: ms(stats.TickP99),
			MemoryBytes: int64(stats.MemoryBytes), FuelUsed: int64(stats.FuelUsed),
		}}, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	a.mu.Lock()
	for _, r := range reports {
		if len(r.JoinedPlayers) > 0 {
			delete(a.admitted, r.InstanceId)
		}
	}
	a.mu.Unlock()
	if res.Reregister {
		a.log.Warn("the coordinator asks this executor to register again")
		if _, err := a.register(ctx); err != nil {
			return err
		}
		return nil
	}
	for _, r := range reports {
		if terminal(r.State) {
			a.forget(r)
		}
	}
	if res.State == rccv1.ExecutorState_EXECUTOR_STATE_DRAINING && !a.draining.Swap(true) {
		a.log.Info("executor draining: the coordinator places no new instance here")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// assignmentLoop keeps the assignment stream open, reconnecting with
// backoff, and applies each assignment as it arrives.
func (a *Agent) assignmentLoop(ctx context.Context) error {
	delay := a.retry.min
	for {
		err := a.stream(ctx, func() { delay = a.retry.min })
		if ctx.Err() != nil {
			return nil
		}
		if status.Code(err) == codes.NotFound {
			a.log.Warn("the coordinator does not know this executor: registering again")
			if _, rerr := a.register(ctx); rerr != nil {
				if errors.Is(rerr, ErrIDChanged) {
					return rerr
				}
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		a.log.Warn("assignment stream broken, reconnecting", "err", err, "in", delay.String())
		t := time.NewTimer(a.retry.jitter(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.linkUp:
			delay = a.retry.min
		case <-t.C:
			delay = a.retry.next(delay)
		}
		t.Stop()
	}
}

// stream reads one assignment stream until it breaks; ok is called on
// each message received.
func (a *Agent) stream(ctx context.Context, ok func()) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Waiting for the connection: the stream opens as soon as the
	// coordinator is back.
	s, err := a.c.Executors.Assignments(sctx, &rccv1.AssignmentsRequest{ExecutorId: a.id}, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	for {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		ok()
		switch k := m.Kind.(type) {
		case *rccv1.Assignment_Start:
			a.start(ctx, k.Start)
		case *rccv1.Assignment_Stop:
			a.starts.Add(1)
			go func() {
				defer a.starts.Done()
				a.stop(ctx, k.Stop.InstanceId, lifecycle.Reason(k.Stop.Reason))
			}()
		case *rccv1.Assignment_Migrate:
			a.starts.Add(1)
			go func() {
				defer a.starts.Done()
				a.migrate(ctx, k.Migrate)
			}()
		case *rccv1.Assignment_Upgrade:
			a.starts.Add(1)
			go func() {
				defer a.starts.Done()
				a.upgrade(ctx, k.Upgrade)
			}()
		case *rccv1.Assignment_Shadow:
			a.starts.Add(1)
			go func() {
				defer a.starts.Done()
				a.shadow(ctx, k.Shadow)
			}()
		}
	}
}

// start applies a Start: it reports an instance it already has, and
// otherwise fetches the module and starts the instance in the background.
func (a *Agent) start(ctx context.Context, s *rccv1.StartInstance) {
	in := s.GetInstance()
	if in == nil || in.Id == "" {
		return
	}
	id := in.Id
	if st, err := a.ex.Instance(id); err == nil {
		if st.State != executor.StateStarting {
			a.reportAsync(ctx, reportOf(st, nil))
		}
		return
	}
	a.mu.Lock()
	rec, ended := a.ended[id]
	_, pending := a.starting[id]
	var fctx context.Context
	if !ended && !pending {
		var cancel context.CancelFunc
		fctx, cancel = context.WithCancel(ctx)
		a.starting[id] = &pendingStart{cancel: cancel}
	}
	a.mu.Unlock()
	switch {
	case ended:
		a.reportAsync(ctx, rec.report)
		return
	case pending:
		return
	}
	a.starts.Add(1)
	go func() {
		defer a.starts.Done()
		a.run(ctx, fctx, s)
	}()
}

// run fetches an instance's bytes and starts it.
func (a *Agent) run(ctx, fetchCtx context.Context, s *rccv1.StartInstance) {
	in, v := s.Instance, s.GetVersion()
	id := in.Id
	log := a.log.With("instance", id, "game", in.Game, "version", in.Version)
	done := func() (stopReason lifecycle.Reason) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if ps := a.starting[id]; ps != nil {
			ps.cancel()
			stopReason = ps.stopReason
		}
		delete(a.starting, id)
		return stopReason
	}
	spec, err := a.spec(fetchCtx, in, v)
	if err == nil && s.GetCheckpoint() != nil {
		// Its executor was lost: it goes on from its checkpoint.
		var info *rccv1.CheckpointInfo
		spec.Resume, info, err = a.fetchCheckpoint(fetchCtx, id)
		if err == nil && info.Version != 0 && info.Version != in.Version {
			// The coordinator placed it on its snapshot's version
			// (store.ExpireExecutors); a restore into another would
			// fail, saying less.
			err = fmt.Errorf("checkpoint: its snapshot is of version %d, the instance was assigned version %d", info.Version, in.Version)
		}
		if err == nil {
			log.Info("resuming from a checkpoint", "frame", info.Frame, "last_frame", info.LastFrame, "snapshot_bytes", info.SnapshotSize)
		}
	}
	if err != nil {
		reason := done()
		r := &rccv1.InstanceReport{InstanceId: id, State: lifecyclepb.StateToProto(lifecycle.Stopped), Reason: string(reason)}
		if reason == "" {
			if ctx.Err() != nil {
				return // shutting down: the coordinator assigns it again later
			}
			r.State = lifecyclepb.StateToProto(lifecycle.Failed)
			r.Reason = truncate(string(lifecycle.ReasonModuleUnavailable) + ": " + err.Error())
			log.Error("instance could not start", "err", err)
		}
		a.reportAsync(ctx, r)
		return
	}
	// The start is bounded by the sandbox; it is not cut short by a
	// shutdown, which stops the instance right after.
	err = a.ex.Start(context.WithoutCancel(ctx), spec)
	if reason := done(); reason != "" && err == nil {
		_ = a.ex.Stop(ctx, id, reason)
	}
	if err != nil && !errors.Is(err, executor.ErrExists) {
		log.Warn("instance failed to start", "err", err) // reported by onChange
	}
}

// spec builds the executor's instance spec, fetching the bytes.
func (a *Agent) spec(ctx context.Context, in *rccv1.Instance, v *rccv1.GameVersion) (executor.InstanceSpec, error) {
	sha := v.GetModuleSha256()
	if sha == "" {
		sha = in.ModuleSha256
	}
	// Recorded before the fetch, so that the cache never evicts what the
	// start is fetching.
	a.recordUses(in.Id, sha, v.GetAssetsSha256())
	module, err := a.blobs.get(ctx, sha)
	if err != nil {
		return executor.InstanceSpec{}, err
	}
	spec := executor.InstanceSpec{ID: in.Id, Game: in.Game, Version: strconv.FormatUint(uint64(in.Version), 10),
		Module: module, Seed: in.Seed, MaxPlayers: int(in.MaxPlayers)}
	if l := v.GetLimits(); l != nil {
		spec.InitFuel = int64(min(l.InitFuel, math.MaxInt64))
		spec.FrameFuel = int64(min(l.FrameFuel, math.MaxInt64))
		spec.MemoryLimitPages = l.MemoryLimitPages
		spec.SnapshotHz = int(min(l.SnapshotHz, maxSnapshotHz))
	}
	spec.CheckpointEvery = time.Duration(in.CheckpointEveryMs) * time.Millisecond
	if in.SnapshotHz != 0 { // the spawn's rate wins over the version's
		spec.SnapshotHz = int(min(in.SnapshotHz, maxSnapshotHz))
	}
	if in.Params != nil && len(in.Params.Fields) > 0 {
		if spec.Params, err = protojson.Marshal(in.Params); err != nil {
			return executor.InstanceSpec{}, fmt.Errorf("params: %w", err)
		}
	}
	if sha := v.GetAssetsSha256(); sha != "" {
		if spec.Assets, err = a.blobs.assets(ctx, sha); err != nil {
			return executor.InstanceSpec{}, err
		}
		spec.AssetsSHA256 = sha
	}
	if in.Record {
		// A log that cannot be created leaves the instance unrecorded,
		// not unstarted. The executor closes the file.
		if f, err := a.ex.CreateReplay(in.Id); err != nil {
			a.log.Error("instance not recorded", "instance", in.Id, "err", err)
		} else {
			spec.Record = f
		}
	}
	return spec, nil
}

// recordUses notes the blobs an instance starts with.
func (a *Agent) recordUses(id string, shas ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.uses[id] = slices.DeleteFunc(shas, func(s string) bool { return s == "" })
}

// blobsInUse returns the blobs of the instances starting or not yet ended,
// forgetting those of ended ones.
func (a *Agent) blobsInUse() map[string]bool {
	a.mu.Lock()
	uses := make(map[string][]string, len(a.uses))
	starting := make(map[string]bool, len(a.starting))
	for id, shas := range a.uses {
		uses[id] = shas
		starting[id] = a.starting[id] != nil
	}
	a.mu.Unlock()
	used := map[string]bool{}
	var ended []string
	for id, shas := range uses {
		if !starting[id] {
			if st, err := a.ex.Instance(id); err != nil || st.State.Ended() {
				ended = append(ended, id)
				continue
			}
		}
		for _, sha := range shas {
			used[sha] = true
		}
	}
	a.mu.Lock()
	for _, id := range ended {
		// Unless started again meanwhile (a new record).
		cur, old := a.uses[id], uses[id]
		same := len(cur) == len(old) && (len(cur) == 0 || &cur[0] == &old[0])
		if a.starting[id] == nil && same {
			delete(a.uses, id)
		}
	}
	a.mu.Unlock()
	return used
}

// stop applies a Stop.
func (a *Agent) stop(ctx context.Context, id string, reason lifecycle.Reason) {
	if reason == "" {
		reason = lifecycle.ReasonStopped
	}
	a.mu.Lock()
	if ps := a.starting[id]; ps != nil {
		ps.stopReason = reason
		ps.cancel()
		a.mu.Unlock()
		_ = a.ex.Stop(ctx, id, reason) // if the executor has it already
		return
	}
	rec, ended := a.ended[id]
	a.mu.Unlock()
	err := a.ex.Stop(ctx, id, reason)
	switch {
	case err == nil:
		if st, err := a.ex.Instance(id); err == nil && st.State.Ended() {
			a.reportAsync(ctx, reportOf(st, nil)) // already ended: confirm
		}
	case errors.Is(err, executor.ErrNotFound) && ended:
		a.reportAsync(ctx, rec.report)
	case errors.Is(err, executor.ErrNotFound):
		// Never ran here: confirm, so the coordinator need not wait.
		a.reportAsync(ctx, &rccv1.InstanceReport{InstanceId: id, State: lifecyclepb.StateToProto(lifecycle.Stopped), Reason: string(reason)})
	default:
		a.log.Warn("stop failed", "instance", id, "err", err)
	}
}

// reportAsync reports without holding up the assignment stream.
func (a *Agent) reportAsync(ctx context.Context, r *rccv1.InstanceReport) {
	a.starts.Add(1)
	go func() {
		defer a.starts.Done()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := a.report(rctx, r); err != nil && ctx.Err() == nil {
			a.log.Warn("instance report failed; the next heartbeat carries it", "instance", r.InstanceId, "err", err)
		}
	}()
}

func truncate(s string) string {
	if len(s) > maxReasonBytes {
		return strings.ToValidUTF8(s[:maxReasonBytes], "")
	}
	return s
}

// backoff is a capped exponential backoff.
type backoff struct{ min, max time.Duration }

func (b backoff) next(d time.Duration) time.Duration { return min(2*d, b.max) }

// jitter spreads reconnections of many executors: d/2 to d.
func (b backoff) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// logLoop pushes the instances' new log entries every LogInterval.
func (a *Agent) logLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.LogInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := a.pushLogs(ctx, "")
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			a.log.Warn("log push failed; the entries wait in the executor's ring", "err", err)
			failing = true
		case err == nil && failing:
			a.log.Info("log pushes go through again")
			failing = false
		}
	}
}

// pushLogs sends the log entries not yet pushed of instance only, or of
// every instance when only is "", in one AppendLogs call.
func (a *Agent) pushLogs(ctx context.Context, only string) error {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	var ids []string
	if only != "" {
		ids = []string{only}
	} else {
		sts := a.ex.Instances()
		known := make(map[string]bool, len(sts))
		for _, st := range sts {
			ids = append(ids, st.ID)
			known[st.ID] = true
		}
		for id := range a.logSent {
			if !known[id] {
				delete(a.logSent, id) // pruned by the executor
			}
		}
	}
	req := &rccv1.AppendLogsRequest{ExecutorId: a.id}
	sent := map[string]uint64{}
	total := 0
	for _, id := range ids {
		entries, lost, err := a.ex.Logs(id, a.logSent[id])
		if err != nil || len(entries) == 0 {
			continue
		}
		il := &rccv1.InstanceLogs{InstanceId: id, Entries: make([]*rccv1.LogEntry, 0, len(entries)+1)}
		if lost > 0 {
			il.Entries = append(il.Entries, &rccv1.LogEntry{Time: timestamppb.New(entries[0].Time), Frame: entries[0].Frame,
				Stream: rccv1.LogStream_LOG_STREAM_EVENT, Event: executor.EventDropped,
				Text: fmt.Sprintf("%d entries lost: the executor's log ring was full before they could be sent", lost)})
		}
		for _, e := range entries {
			il.Entries = append(il.Entries, &rccv1.LogEntry{Time: timestamppb.New(e.Time), Frame: e.Frame,
				Stream: logStreamToProto[e.Stream], Event: e.Event, Text: e.Text})
		}
		req.Instances = append(req.Instances, il)
		sent[id] = entries[len(entries)-1].Seq
		if total += len(il.Entries); total >= maxLogBatch {
			break // the rest goes with the next push
		}
	}
	if len(req.Instances) == 0 {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := a.c.Executors.AppendLogs(pctx, req)
	if err != nil {
		return fmt.Errorf("push logs: %w", err)
	}
	for _, id := range res.Refused {
		a.log.Debug("the coordinator refused an instance's log entries", "instance", id)
	}
	maps.Copy(a.logSent, sent)
	return nil
}

var logStreamToProto = map[executor.LogStream]rccv1.LogStream{
	executor.LogStdout: rccv1.LogStream_LOG_STREAM_STDOUT,
	executor.LogStderr: rccv1.LogStream_LOG_STREAM_STDERR,
	executor.LogEvent:  rccv1.LogStream_LOG_STREAM_EVENT,
}
