package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Defaults of Config.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultMissedHeartbeats  = 3
	DefaultReapInterval      = time.Second
	DefaultResyncInterval    = 2 * time.Second
	DefaultStopTimeout       = time.Minute
	DefaultRetention         = 7 * 24 * time.Hour
	DefaultMaxPlayers        = 16
	DefaultLeaseSeconds      = 3600
	DefaultMaxModuleBytes    = 64 << 20
	DefaultMaxAssetsBytes    = 256 << 20
	// DefaultShutdownTimeout is how long a stopping server lets the calls
	// in flight finish.
	DefaultShutdownTimeout = 5 * time.Second
)

// Config configures a Coordinator. Store and Issuer are required.
type Config struct {
	Store  Store
	Issuer *auth.Issuer
	Logger *slog.Logger
	// TrustedIssuers are the verifiers (auth.NewExternalVerifier) of the
	// identity providers whose tokens sign players in: such a token, told
	// by its "iss", may call Join as its subject.
	TrustedIssuers []*auth.Verifier
	// KeyDir, when set, is the data directory whose key set
	// (auth.LoadKeySet) the coordinator signs with: it reloads it when its
	// manifest changes ("rccd key rotate"), without a restart, signing with
	// the new active key and accepting the retired keys' tokens.
	KeyDir string
	// AuditLogger receives the audit trail (docs/operations.md): admin
	// calls, refused authentications, executor registrations. Logger,
	// with the attribute log=audit, when nil.
	AuditLogger *slog.Logger
	// Version is the coordinator's build version, sent to watchers in the
	// Watch stream's response headers (client.VersionHeader).
	Version string
	// Registerer receives the coordinator's metrics; none when nil.
	Registerer prometheus.Registerer
	// HeartbeatInterval is what executors are told; MissedHeartbeats of
	// them without a heartbeat and an executor is lost.
	HeartbeatInterval time.Duration
	MissedHeartbeats  int
	// ReapInterval is how often leases, executors, pending instances and
	// seats are checked.
	ReapInterval time.Duration
	// ResyncInterval is how often an assignment stream re-reads the store.
	ResyncInterval time.Duration
	// StopTimeout is how long an instance may stay stopping before it is
	// considered stopped without its executor's confirmation.
	StopTimeout time.Duration
	// Retention is how long stopped, failed and lost instances are kept;
	// 0 means DefaultRetention, negative forever.
	Retention time.Duration
	// TicketTTL is a join ticket's lifetime, and the seat reservation's.
	TicketTTL time.Duration
	// ValidateModule checks a module at deploy; wasmhost.Check when nil.
	ValidateModule func(module []byte) error
	// MaxModuleBytes and MaxAssetsBytes bound an upload.
	MaxModuleBytes, MaxAssetsBytes int64
	// LogEntries is how many entries of each instance's log are kept
	// (DefaultLogEntries when 0); LogPollInterval how often a following
	// Logs stream re-reads the store (DefaultLogPollInterval when 0).
	LogEntries      int
	LogPollInterval time.Duration
	// JoinRate and JoinBurst limit the Join calls of player tokens: per
	// player (the token's subject) JoinRate a second in bursts of JoinBurst,
	// per source address eight times that; DefaultJoinRate and
	// DefaultJoinBurst when 0, no limit when JoinRate is negative. Admin
	// tokens are not limited.
	JoinRate  float64
	JoinBurst int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxAssetsUnpackedBytes bounds an assets archive's files together,
	// unpacked (DefaultMaxAssetsUnpackedBytes when 0).
	MaxAssetsUnpackedBytes int64
	// SpoolDir holds uploads' assets while they arrive (os.TempDir when
	// empty).
	SpoolDir string
}

// Coordinator serves the control plane. Create it with New, serve it with
// NewServer and keep Run running beside it.
type Coordinator struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	node    string
	hub     *hub
	streams *streams
	metrics *metrics
	health  *health.Server
	notify  chan string
	logWake *logWake
	names   sync.Map // executor id -> name, for checking executor tokens
	audit   *audit
	denied  denyList // revoked token ids
	keys    keyWatch // the key set's manifest, reloaded when it changes
	joins   *joinLimiter
	purged  time.Time

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once

	migrations migrations // live migrations under way (migrate.go)
	shadows    shadowRuns // shadow runs waiting for their report (shadow.go)
}

// notifier is the cross-coordinator channel a store may offer
// (store.Postgres does).
type notifier interface {
	Notify(ctx context.Context, payload string) error
	Listen(ctx context.Context, fn func(payload string), onReconnect func()) error
}

// New returns a Coordinator.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Store == nil || cfg.Issuer == nil {
		return nil, errors.New("new coordinator: store and issuer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AuditLogger == nil {
		cfg.AuditLogger = cfg.Logger.With("log", "audit")
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.MissedHeartbeats <= 0 {
		cfg.MissedHeartbeats = DefaultMissedHeartbeats
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = DefaultReapInterval
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = auth.DefaultTicketTTL
	}
	if cfg.ValidateModule == nil {
		cfg.ValidateModule = func(b []byte) error { return wasmhost.Check(b, 0).Err() }
	}
	if cfg.MaxModuleBytes <= 0 {
		cfg.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if cfg.MaxAssetsBytes <= 0 {
		cfg.MaxAssetsBytes = DefaultMaxAssetsBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JoinRate == 0 {
		cfg.JoinRate = DefaultJoinRate
	}
	if cfg.JoinBurst <= 0 {
		cfg.JoinBurst = DefaultJoinBurst
	}
	if cfg.MaxAssetsUnpackedBytes <= 0 {
		cfg.MaxAssetsUnpackedBytes = DefaultMaxAssetsUnpackedBytes
	}
	var err error
	if cfg.LogEntries, err = logEntriesOf(cfg.LogEntries); err != nil {
		return nil, fmt.Errorf("new coordinator: %w", err)
	}
	if cfg.LogPollInterval <= 0 {
		cfg.LogPollInterval = DefaultLogPollInterval
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new coordinator: %w", err)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(newStateCollector(cfg.Store)); err != nil {
			return nil, fmt.Errorf("new coordinator: %w", err)
		}
	}
	return &Coordinator{
		cfg: cfg, st: cfg.Store, log: cfg.Logger, node: store.NewID("c-"),
		hub: newHub(), streams: newStreams(), metrics: m, health: health.NewServer(),
		notify: make(chan string, 1024), logWake: newLogWake(), closing: make(chan struct{}),
		audit: newAudit(cfg.AuditLogger, cfg.Now), joins: newJoinLimiter(cfg.JoinRate, cfg.JoinBurst),
	}, nil
}

// errShuttingDown ends the streams of a coordinator that is stopping. It is
// UNAVAILABLE, which clients retry: an executor reconnects, to another
// coordinator when there are several.
var errShuttingDown = status.Error(codes.Unavailable, "coordinator shutting down")

// CloseStreams ends the Assignments and Watch streams the coordinator
// serves, at once, with UNAVAILABLE "coordinator shutting down", and
// refuses new ones the same way. Those streams never end by themselves, so
// a server's GracefulStop would wait for them: call CloseStreams first,
// then GracefulStop, which lets the unary calls in flight finish. Calling
// it again does nothing.
func (c *Coordinator) CloseStreams() {
	c.closeOnce.Do(func() { close(c.closing) })
}

// streamContext returns a context for a long-lived stream handler: parent,
// also cancelled (with cause errShuttingDown) by CloseStreams. end is the
// handler's deferred cleanup; result maps its error.
func (c *Coordinator) streamContext(parent context.Context) (ctx context.Context, end func(), result func(error) error) {
	ctx, cancel := context.WithCancelCause(parent)
	select {
	case <-c.closing:
		cancel(errShuttingDown)
	default:
		go func() {
			select {
			case <-c.closing:
				cancel(errShuttingDown)
			case <-ctx.Done():
			}
		}()
	}
	result = func(err error) error {
		if errors.Is(context.Cause(ctx), errShuttingDown) {
			return errShuttingDown
		}
		return err
	}
	return ctx, func() { cancel(nil) }, result
}

// Policy is who may call what: operators (admin) everything but the
// executor calls, executors their own calls and reads of game versions.
// Health and reflection are open, so load balancers and grpcurl work
// without a token.
func Policy() auth.Policy {
	admin := []auth.Role{auth.RoleAdmin}
	exec := []auth.Role{auth.RoleExecutor}
	both := []auth.Role{auth.RoleAdmin, auth.RoleExecutor}
	return auth.Policy{
		Rules: map[string][]auth.Role{
			rccv1.GameService_ServiceDesc.ServiceName:                   admin,
			rccv1.GameService_GetVersion_FullMethodName:                 both,
			rccv1.GameService_FetchBlob_FullMethodName:                  both,
			rccv1.InstanceService_ServiceDesc.ServiceName:               admin,
			rccv1.InstanceService_Join_FullMethodName:                   {auth.RoleAdmin, auth.RolePlayer},
			rccv1.ExecutorService_ServiceDesc.ServiceName:               admin,
			rccv1.ExecutorService_Register_FullMethodName:               exec,
			rccv1.ExecutorService_Heartbeat_FullMethodName:              exec,
			rccv1.ExecutorService_Assignments_FullMethodName:            exec,
			rccv1.ExecutorService_ReportInstance_FullMethodName:         exec,
			rccv1.ExecutorService_AppendLogs_FullMethodName:             exec,
			rccv1.ExecutorService_Drain_FullMethodName:                  both,
			rccv1.ExecutorService_PublicKeys_FullMethodName:             both,
			rccv1.ExecutorService_RenewToken_FullMethodName:             exec,
			rccv1.ExecutorService_ReportMigration_FullMethodName:        exec,
			rccv1.ExecutorService_ReportUpgrade_FullMethodName:          exec,
			rccv1.ExecutorService_SaveCheckpoint_FullMethodName:         exec,
			rccv1.ExecutorService_AppendCheckpointInputs_FullMethodName: exec,
			rccv1.ExecutorService_GetCheckpoint_FullMethodName:          exec,
			rccv1.ExecutorService_ReportShadow_FullMethodName:           exec,
			rccv1.WatchService_ServiceDesc.ServiceName:                  admin,
		},
		OpenHealth:     true,
		OpenReflection: true,
	}
}

// NewServer returns a gRPC server carrying the coordinator's services, the
// standard health service and server reflection, behind the auth
// interceptor. opts are added to the server's options.
func (c *Coordinator) NewServer(opts ...grpc.ServerOption) (*grpc.Server, error) {
	v, err := auth.NewKeySetVerifier(publicKeys(c.cfg.Issuer.KeySet()), auth.Options{})
	if err != nil {
		return nil, err
	}
	policy := Policy()
	policy.Trusted = c.cfg.TrustedIssuers
	ic, err := auth.NewInterceptor(v, policy)
	if err != nil {
		return nil, err
	}
	ac := newAuthCache(ic, c.cfg.Now, &c.denied, c.audit)
	c.keys.add(v, ac)
	all := append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(ac.unary), grpc.ChainStreamInterceptor(ac.stream)}, ac.guardOptions()...)
	all = append(all, opts...)
	s := grpc.NewServer(all...)
	c.Register(s)
	healthpb.RegisterHealthServer(s, c.health)
	reflection.Register(s)
	return s, nil
}

// Register registers the coordinator's services on s.
func (c *Coordinator) Register(s grpc.ServiceRegistrar) {
	rccv1.RegisterGameServiceServer(s, &gameService{c: c, st: c.st})
	rccv1.RegisterInstanceServiceServer(s, &instanceService{c: c, st: c.st})
	rccv1.RegisterExecutorServiceServer(s, &executorService{c: c, st: c.st})
	rccv1.RegisterWatchServiceServer(s, &watchService{c: c, st: c.st})
	c.setHealth(true)
}

// Health returns the health service the coordinator keeps up to date:
// SERVING while the store answers.
func (c *Coordinator) Health() *health.Server { return c.health }

func (c *Coordinator) setHealth(ok bool) {
	st := healthpb.HealthCheckResponse_SERVING
	if !ok {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	for _, svc := range []string{"", rccv1.GameService_ServiceDesc.ServiceName, rccv1.InstanceService_ServiceDesc.ServiceName,
		rccv1.ExecutorService_ServiceDesc.ServiceName, rccv1.WatchService_ServiceDesc.ServiceName} {
		c.health.SetServingStatus(svc, st)
	}
}

func (c *Coordinator) now() time.Time { return c.cfg.Now() }

// placement is who may take a new instance now.
func (c *Coordinator) placement() store.Placement {
	now := c.now()
	return store.Placement{Now: now, LiveSince: now.Add(-c.window())}
}

// Run does the background work until ctx ends: the reaper, and listening
// to other coordinators when the store supports it.
func (c *Coordinator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if n, ok := c.st.(notifier); ok {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_ = n.Listen(ctx, c.onNotify, func() {
				c.log.Info("listening to other coordinators again")
				c.streams.wakeAll()
			})
		}()
		go func() {
			defer wg.Done()
			c.sendNotifications(ctx, n)
		}()
	}
	t := time.NewTicker(c.cfg.ReapInterval)
	defer t.Stop()
	healthy := true
	// Executors cannot heartbeat while this coordinator or its store is
	// down: declare none lost before the store has answered for a whole
	// liveness window.
	reachableSince := c.now()
	for {
		ok := c.st.Ping(ctx) == nil
		if !ok {
			reachableSince = time.Time{}
		} else if reachableSince.IsZero() {
			reachableSince = c.now()
		}
		if ok {
			expire := c.now().Sub(reachableSince) >= c.window()
			if err := c.reap(ctx, expire); err != nil && ctx.Err() == nil {
				c.log.Warn("background work failed", "err", err)
			}
		}
		if ok != healthy && ctx.Err() == nil {
			healthy = ok
			c.setHealth(ok)
			if ok {
				c.log.Info("store reachable again")
			} else {
				c.log.Warn("store unreachable")
			}
		}
		select {
		case <-ctx.Done():
			c.health.Shutdown()
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// window is how long an executor may stay silent before it is lost.
func (c *Coordinator) window() time.Duration {
	return time.Duration(c.cfg.MissedHeartbeats) * c.cfg.HeartbeatInterval
}

// Reap runs the background work once: expired leases, lost executors,
// pending instances and expired seats.
func (c *Coordinator) Reap(ctx context.Context) error { return c.reap(ctx, true) }

// LoadRevocations reads the deny-list of revoked tokens from the store; Run
// reads it again on every reap, so a token revoked with "rccd token
// revoke" is refused by every coordinator within a reap interval.
func (c *Coordinator) LoadRevocations(ctx context.Context) error {
	if err := c.denied.load(ctx, c.st, c.now()); err != nil {
		return fmt.Errorf("load revoked tokens: %w", err)
	}
	return nil
}

func (c *Coordinator) reap(ctx context.Context, expireExecutors bool) error {
	var errs []error
	errs = append(errs, c.LoadRevocations(ctx), c.reloadKeys())
	leases, err := c.st.ExpireLeases(ctx, c.now())
	errs = append(errs, err)
	for _, in := range leases {
		c.metrics.leasesExpired.Inc()
		c.log.Info("lease expired", "instance", in.ID, "game", in.Game, "state", in.State)
		c.instanceChanged(ctx, in)
	}
	stops, err := c.st.ExpireStops(ctx, c.now().Add(-c.cfg.StopTimeout), c.now())
	errs = append(errs, err)
	for _, in := range stops {
		c.log.Warn("stop not confirmed by the executor", "instance", in.ID, "executor", in.ExecutorID)
		c.instanceChanged(ctx, in)
	}
	var lost store.ExpiredExecutors
	if expireExecutors {
		lost, err = c.st.ExpireExecutors(ctx, c.placement())
		errs = append(errs, err)
	}
	for _, x := range lost.Executors {
		c.metrics.executorsLost.Inc()
		c.log.Warn("executor lost", "executor", x.ID, "name", x.Name, "last_heartbeat", x.LastHeartbeat)
		c.executorChanged(ctx, x)
	}
	for _, in := range lost.Lost {
		c.instanceChanged(ctx, in)
	}
	for _, in := range lost.Resumed {
		c.metrics.resumed.Inc()
		c.log.Info("instance of a lost executor to resume from its checkpoint", "instance", in.ID, "checkpoint_frame", in.CheckpointFrame)
		c.instanceChanged(ctx, in)
	}
	for _, in := range lost.Respawned {
		c.log.Info("instance respawned", "instance", in.ID, "from", in.RespawnedFrom, "executor", in.ExecutorID)
		c.instanceChanged(ctx, in)
	}
	errs = append(errs, c.assignPending(ctx))
	n, err := c.st.ReleaseSeats(ctx, c.now())
	errs = append(errs, err)
	c.metrics.seatsReleased.Add(float64(n))
	if c.cfg.Retention > 0 && c.now().Sub(c.purged) >= time.Hour {
		c.purged = c.now()
		n, err := c.st.PurgeInstances(ctx, c.now().Add(-c.cfg.Retention))
		errs = append(errs, err)
		if n > 0 {
			c.log.Info("finished instances purged", "count", n, "older_than", c.cfg.Retention)
		}
	}
	return errors.Join(errs...)
}

// ---- change propagation ----

// change is the cross-coordinator notification payload.
type change struct {
	Node     string `json:"n"`
	Instance string `json:"i,omitempty"`
	Executor string `json:"x,omitempty"`
}

// assignPending places pending instances on live executors and tells
// everyone concerned.
func (c *Coordinator) assignPending(ctx context.Context) error {
	assigned, err := c.st.AssignPending(ctx, c.placement())
	for _, in := range assigned {
		c.log.Info("pending instance assigned", "instance", in.ID, "executor", in.ExecutorID)
		c.instanceChanged(ctx, in)
	}
	return err
}

// instanceChanged tells watchers, the instance's executor stream and other
// coordinators.
func (c *Coordinator) instanceChanged(ctx context.Context, in store.Instance) {
	c.hub.publish(&rccv1.WatchEvent{At: tsOf(c.now()), Subject: &rccv1.WatchEvent_Instance{Instance: instanceProto(in)}})
	if in.ExecutorID != "" {
		c.streams.wake(in.ExecutorID, in.ID)
	}
	c.logWake.wake(in.ID)
	c.queueNotify(change{Node: c.node, Instance: in.ID})
}

func (c *Coordinator) executorChanged(ctx context.Context, x store.Executor) {
	c.hub.publish(&rccv1.WatchEvent{At: tsOf(c.now()), Subject: &rccv1.WatchEvent_Executor{Executor: executorProto(x)}})
	c.queueNotify(change{Node: c.node, Executor: x.ID})
}

func (c *Coordinator) queueNotify(ch change) {
	b, _ := json.Marshal(ch)
	select {
	case c.notify <- string(b):
	default: // other coordinators resynchronise on their own
	}
}

func (c *Coordinator) sendNotifications(ctx context.Context, n notifier) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-c.notify:
			nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_ = n.Notify(nctx, p)
			cancel()
		}
	}
}

// onNotify handles another coordinator's change.
func (c *Coordinator) onNotify(payload string) {
	var ch change
	if json.Unmarshal([]byte(payload), &ch) != nil || ch.Node == c.node {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if ch.Instance != "" {
		c.logWake.wake(ch.Instance)
		if in, err := c.st.GetInstance(ctx, ch.Instance); err == nil {
			c.hub.publish(&rccv1.WatchEvent{At: tsOf(c.now()), Subject: &rccv1.WatchEvent_Instance{Instance: instanceProto(in)}})
			if in.ExecutorID != "" {
				c.streams.wake(in.ExecutorID, in.ID)
			}
		}
	}
	if ch.Executor != "" && c.hub.active() {
		if x, err := c.st.GetExecutor(ctx, ch.Executor); err == nil {
			c.hub.publish(&rccv1.WatchEvent{At: tsOf(c.now()), Subject: &rccv1.WatchEvent_Executor{Executor: executorProto(x)}})
		}
		// Its instances' player counts, reported with the heartbeat.
		ins, err := c.st.ListInstances(ctx, store.InstanceFilter{ExecutorID: ch.Executor,
			States: []store.InstanceState{store.StateStarting, store.StateRunning}})
		if err == nil {
			for _, in := range ins {
				c.hub.publish(&rccv1.WatchEvent{At: tsOf(c.now()), Subject: &rccv1.WatchEvent_Instance{Instance: instanceProto(in)}})
			}
		}
	}
}

// ---- errors ----

// grpcError maps a store or validation error to a gRPC status.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, store.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrExecutorLost):
		code = codes.FailedPrecondition
	case errors.Is(err, store.ErrNoExecutor), errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrResuming):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}
