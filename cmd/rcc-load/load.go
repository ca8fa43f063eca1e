package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
)

// config is rcc-load's configuration, from flags.
type config struct {
	url, executorID, instance, keyDir string
	self                              bool
	module                            string
	players, perInstance              int
	rate                              float64
	duration                          time.Duration
	output                            string
	cpuProfile                        string
	fullStates, check                 bool
	snapshotHz                        int
	socketWriteBuffer                 int
	ioUring                           bool
	noImages                          bool
	separate                          bool
	executorCPUs, executorProfile     string
	executorSyscalls                  bool
}

func (c *config) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&c.url, "url", "", "executor base URL (ws://host:port)")
	fs.StringVar(&c.executorID, "executor-id", "", "the executor's id, as tickets name it")
	fs.StringVar(&c.instance, "instance", "", "instance every player joins")
	fs.StringVar(&c.keyDir, "key-dir", "", "directory of the coordinator's signing key (signing.key), to mint tickets")
	fs.BoolVar(&c.self, "self", false, "run an executor in this process on loopback instead")
	fs.StringVar(&c.module, "module", "pkg/wasmhost/testdata/recorder.wasm", "with --self: the game module to run")
	fs.IntVar(&c.players, "players", 16, "number of players")
	fs.IntVar(&c.perInstance, "per-instance", 16, "with --self: players per instance (at most 79)")
	fs.Float64Var(&c.rate, "rate", 20, "inputs per second per player")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run once every player is connected")
	fs.StringVar(&c.output, "output", "table", "report format: table or json")
	fs.BoolVar(&c.fullStates, "full-states", false, "ask for full states instead of deltas (protocol version 1's traffic)")
	fs.BoolVar(&c.check, "check", false, "verify every reconstructed state against the full state of a witness player on full states, one per instance; a mismatch fails the run")
	fs.IntVar(&c.snapshotHz, "snapshot-hz", 0, "with --self: states per second the instances send (default: the executor's)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (load generator and, with --self, executor) to this file")
	fs.IntVar(&c.socketWriteBuffer, "socket-write-buffer", 0, "with --self: kernel send buffer of each player's connection in bytes (default: the kernel's)")
	fs.BoolVar(&c.separate, "separate", false, "with --self: run the executor in a process of its own and report that process's CPU and memory")
	fs.BoolVar(&c.ioUring, "io-uring", false, "with --self: send the players' states through io_uring in batches (Linux, experimental; rccd executor --io-uring)")
	fs.BoolVar(&c.noImages, "no-start-images", false, "with --self: every instance runs _initialize, none starts from its module's image (rccd executor --start-images=false)")
	fs.StringVar(&c.executorCPUs, "executor-cpus", "", "with --separate: CPUs the executor process may run on, as taskset -c takes them (e.g. 1)")
	fs.StringVar(&c.executorProfile, "executor-cpuprofile", "", "with --separate: write a CPU profile of the executor process to this file")
	fs.BoolVar(&c.executorSyscalls, "executor-syscalls", false, "with --separate: count the executor process's system calls while measuring, with perf stat (Linux perf)")
}

func (c config) validate() error {
	switch {
	case c.players <= 0:
		return errors.New("--players must be positive")
	case c.rate <= 0:
		return errors.New("--rate must be positive")
	case c.output != "table" && c.output != "json":
		return fmt.Errorf("--output %q: want table or json", c.output)
	case c.self && (c.perInstance <= 0 || c.perInstance > 79):
		return errors.New("--per-instance must be 1 to 79")
	case c.snapshotHz < 0 || c.snapshotHz > 1000:
		return errors.New("--snapshot-hz must be 0 to 1000")
	case c.socketWriteBuffer < 0:
		return errors.New("--socket-write-buffer must not be negative")
	case !c.separate && (c.executorCPUs != "" || c.executorProfile != "" || c.executorSyscalls):
		return errors.New("--executor-cpus, --executor-cpuprofile and --executor-syscalls need --separate")
	case c.ioUring && !c.self:
		return errors.New("--io-uring needs --self")
	case c.noImages && !c.self:
		return errors.New("--no-start-images needs --self")
	case c.separate && !c.self:
		return errors.New("--separate needs --self")
	case !c.self && (c.url == "" || c.executorID == "" || c.instance == "" || c.keyDir == ""):
		return errors.New("--url, --executor-id, --instance and --key-dir are required without --self")
	}
	return nil
}

// target is where players connect and how they get tickets.
type target struct {
	url        string
	executorID string
	issuer     *auth.Issuer
	instanceOf func(player int) string
	recorder   bool
	// server, with --self, returns the executor's own figures.
	server func() *serverReport
	// pid, with --separate, is the executor's process.
	pid   int
	close func()
}

// serverReport is what the executor saw, with --self.
type serverReport struct {
	Frames        uint64  `json:"frames"`
	Overruns      uint64  `json:"tick_overruns"`
	Skipped       uint64  `json:"frames_skipped"`
	StatesDropped float64 `json:"state_frames_dropped"`
	InputsDropped float64 `json:"inputs_dropped"`
	// Coalesced counts the messages that went out in a write with others.
	Coalesced float64 `json:"coalesced_messages"`
	TickP50   float64 `json:"tick_p50_ms"`
	TickP99   float64 `json:"tick_p99_ms"`
}

func load(ctx context.Context, cfg config, stderr io.Writer) (*report, error) {
	var t *target
	var err error
	switch {
	case cfg.separate:
		t, err = separateTarget(ctx, cfg, stderr)
	case cfg.self:
		t, err = selfTarget(ctx, cfg)
	default:
		t, err = remoteTarget(cfg)
	}
	if err != nil {
		return nil, err
	}
	defer t.close()

	rep := newReport(cfg)
	var idle procStats
	if t.pid != 0 {
		if idle, err = readProc(t.pid); err != nil {
			return nil, fmt.Errorf("the executor process: %w", err)
		}
	}
	// One decoder for every player's deltas, as many at once as there are
	// cores.
	dec, err := protocol.NewDeltaDecoder(0)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	var chk *checker
	if cfg.check {
		chk = newChecker()
		ws, err := startWitnesses(ctx, cfg, t, chk)
		if err != nil {
			return nil, err
		}
		defer func() {
			for _, w := range ws {
				_ = w.Close()
			}
		}()
	}
	players := make([]*player, cfg.players)
	var wg sync.WaitGroup
	start := make(chan struct{})
	stop := make(chan struct{})
	for i := range players {
		p := &player{id: playerID(i, cfg), instance: t.instanceOf(i), recorder: t.recorder, rep: rep,
			cfg: play.Config{RawStates: true, ReconnectFor: -1, FullStates: cfg.fullStates, Decoder: dec}, check: chk}
		players[i] = p
		tok, _, err := t.issuer.Ticket(auth.TicketRequest{PlayerID: p.id, InstanceID: p.instance, ExecutorID: t.executorID, TTL: time.Minute})
		if err != nil {
			return nil, err
		}
		url, err := protocol.PlayURL(t.url, p.instance, string(tok))
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, url, cfg.rate, start, stop)
		}()
	}
	// Wait for every player's welcome (or failure), then measure.
	deadline := time.Now().Add(30 * time.Second)
	for rep.settled() < cfg.players && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	rep.begin()
	close(start)
	cpu0 := cpuTime()
	var ex0 procStats
	var sc *syscallCount
	if t.pid != 0 {
		ex0, _ = readProc(t.pid)
		if cfg.executorSyscalls {
			if sc, err = startSyscallCount(t.pid); err != nil {
				return nil, err
			}
		}
	}
	select {
	case <-time.After(cfg.duration):
	case <-ctx.Done():
	}
	rep.end()
	rep.cpu(cpuTime() - cpu0)
	if t.pid != 0 {
		if ex1, err := readProc(t.pid); err == nil {
			rep.executor(ex1.cpu-ex0.cpu, idle.rss, ex1.rss, ex1.cpusList)
		}
		if sc != nil {
			counts, err := sc.stop()
			if err != nil {
				return nil, err
			}
			rep.syscalls(counts)
		}
	}
	if t.server != nil {
		rep.Server = t.server()
	}
	close(stop)
	wg.Wait()
	if chk != nil {
		rep.Check = chk.report()
	}
	return rep, nil
}

// startWitnesses connects one player on full states to each instance, whose
// states the checker takes as the truth.
func startWitnesses(ctx context.Context, cfg config, t *target, chk *checker) ([]*play.Session, error) {
	var out []*play.Session
	seen := map[string]bool{}
	for i := range cfg.players {
		inst := t.instanceOf(i)
		if seen[inst] {
			continue
		}
		seen[inst] = true
		tok, _, err := t.issuer.Ticket(auth.TicketRequest{PlayerID: "witness-" + inst, InstanceID: inst, ExecutorID: t.executorID, TTL: time.Minute})
		if err != nil {
			return out, err
		}
		url, err := protocol.PlayURL(t.url, inst, string(tok))
		if err != nil {
			return out, err
		}
		s, err := play.Connect(ctx, url, play.Config{RawStates: true, FullStates: true, ReconnectFor: -1,
			OnEvent: func(ev play.Event) {
				if ev.Kind == play.EventState {
					chk.witness(inst, ev.Frame, ev.Data)
				}
			}})
		if err != nil {
			for _, w := range out {
				_ = w.Close()
			}
			return nil, fmt.Errorf("connect the witness of instance %s: %w", inst, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// playerID is player i's id. Within an instance of the recorder, ids
// start with distinct bytes, which the recorder's state carries.
func playerID(i int, cfg config) string {
	if cfg.self {
		return fmt.Sprintf("%c%d", '0'+i%cfg.perInstance, i)
	}
	return fmt.Sprintf("load-%d", i)
}

func remoteTarget(cfg config) (*target, error) {
	data, err := os.ReadFile(filepath.Join(cfg.keyDir, auth.KeyFileName))
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	key, err := auth.ParsePrivateKey(data)
	if err != nil {
		return nil, err
	}
	iss, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		return nil, err
	}
	return &target{
		url: cfg.url, executorID: cfg.executorID, issuer: iss,
		instanceOf: func(int) string { return cfg.instance },
		close:      func() {},
	}, nil
}

// selfTarget starts an executor in this process on loopback with enough
// instances.
func selfTarget(ctx context.Context, cfg config) (*target, error) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	iss, _ := auth.NewIssuer(priv, auth.Options{})
	se, err := startSelf(ctx, cfg, priv)
	if err != nil {
		return nil, err
	}
	return &target{
		url: se.url, executorID: se.id, issuer: iss,
		instanceOf: func(i int) string { return se.instances[i/cfg.perInstance] },
		recorder:   se.recorder,
		server:     se.report,
		close:      func() { se.close(ctx) },
	}, nil
}

// player is one load client.
type player struct {
	id, instance string
	recorder     bool
	rep          *report
	cfg          play.Config
	check        *checker // nil without --check
}

func (p *player) run(ctx context.Context, url string, rate float64, start, stop <-chan struct{}) {
	var mu sync.Mutex
	sent := map[byte]time.Time{} // recorder: input seq -> send time
	var pending []time.Time      // other games: inputs waiting for 2 states
	onState := func(ev play.Event) {
		if ev.Kind != play.EventState {
			return
		}
		p.rep.state(ev.Size)
		if p.check != nil {
			p.check.player(p.instance, ev.Frame, ev.Data)
		}
		mu.Lock()
		defer mu.Unlock()
		if p.recorder {
			for _, seq := range recorderInputs(ev.Data, p.id[0]) {
				if t, ok := sent[seq]; ok {
					p.rep.latency(ev.At.Sub(t))
					delete(sent, seq)
				}
			}
			return
		}
		// pending[i] waits for two states after it was sent.
		keep := pending[:0]
		for i := 0; i < len(pending); i += 2 {
			if pending[i+1].IsZero() {
				keep = append(keep, pending[i], ev.At)
			} else {
				p.rep.latency(ev.At.Sub(pending[i]))
			}
		}
		pending = keep
	}
	cfg := p.cfg
	cfg.OnEvent = onState
	s, err := play.Connect(ctx, url, cfg)
	if err != nil {
		var ce *play.CloseError
		if errors.As(err, &ce) {
			p.rep.closed(ce)
		} else {
			p.rep.failed(err.Error())
		}
		return
	}
	defer s.Close()
	p.rep.connected()

	select {
	case <-start:
	case <-s.Done():
		p.rep.closed(s.Err())
		return
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	seq := byte(0)
	for {
		select {
		case <-stop:
			p.rep.session(s.Stats())
			_ = s.Close() // a normal close: the player leaves
			return
		case <-s.Done():
			select {
			case <-stop:
			default:
				p.rep.closed(s.Err())
			}
			return
		case <-tick.C:
		}
		seq++
		if seq == 0 {
			seq = 1
		}
		// Arena's input format (x, z, flags); the recorder reads the
		// first byte only.
		data := []byte{seq, 0xC0, 0} // x = seq, z = -64
		mu.Lock()
		if p.recorder {
			sent[seq] = time.Now()
		} else {
			pending = append(pending, time.Now(), time.Time{})
		}
		mu.Unlock()
		if err := s.Send(data); err != nil {
			return
		}
		p.rep.input()
	}
}

// recorderInputs returns the first input bytes of the inputs of player
// byte who recorded in a recorder state: its records are 'T', 'J'/'L'
// and a player byte, 'I', a player byte and an input byte, and 'N' and
// the init JSON in the first state only.
func recorderInputs(state []byte, who byte) []byte {
	var out []byte
	for i := 0; i < len(state); {
		switch state[i] {
		case 'T':
			i++
		case 'J', 'L':
			i += 2
		case 'I':
			if i+2 < len(state) && state[i+1] == who {
				out = append(out, state[i+2])
			}
			i += 3
		default: // 'N' and the JSON: the rest of the first state
			return out
		}
	}
	return out
}

// report collects the figures of a run.
type report struct {
	mu        sync.Mutex
	cfg       config
	Players   int     `json:"players"`
	Connected int     `json:"connected"`
	Failed    int     `json:"failed"`
	Inputs    int64   `json:"inputs_sent"`
	States    int64   `json:"states_received"`
	Bytes     int64   `json:"bytes_received"`
	Seconds   float64 `json:"seconds"`
	// BytesPerPlayer is bytes_received per second per connected player.
	BytesPerPlayer float64 `json:"bytes_per_player_per_second"`
	// Deltas and Keyframes count the states received as Delta frames
	// (on a base, and whole) over the whole run; the rest were State
	// frames.
	Deltas    uint64 `json:"delta_states"`
	Keyframes uint64 `json:"keyframes"`
	// CPUSeconds is the process's CPU time while measuring (with --self,
	// the executor's and the load generator's together), CPUPerState
	// that time per state received, in microseconds.
	CPUSeconds  float64 `json:"cpu_seconds"`
	CPUPerState float64 `json:"cpu_us_per_state"`
	// With --separate, the executor process's figures from /proc: its CPU
	// time (utime+stime) over the same window and per state received,
	// its resident memory at the end, before the players connected, and
	// the difference per connected player, and the CPUs it could run on.
	ExecutorCPUSeconds   float64 `json:"executor_cpu_seconds,omitempty"`
	ExecutorCPUPerState  float64 `json:"executor_cpu_us_per_state,omitempty"`
	ExecutorRSS          int64   `json:"executor_rss_bytes,omitempty"`
	ExecutorIdleRSS      int64   `json:"executor_rss_before_players_bytes,omitempty"`
	ExecutorRSSPerPlayer float64 `json:"executor_rss_per_player_bytes,omitempty"`
	ExecutorCPUs         string  `json:"executor_cpus,omitempty"`
	// ExecutorSyscalls, with --executor-syscalls, counts the executor
	// process's system calls while measuring (total, and write, read,
	// epoll_pwait and futex), ExecutorSyscallsPerState the same per
	// state received.
	ExecutorSyscalls         map[string]float64 `json:"executor_syscalls,omitempty"`
	ExecutorSyscallsPerState map[string]float64 `json:"executor_syscalls_per_state,omitempty"`
	Check                    *checkReport       `json:"check,omitempty"`
	Closes                   map[string]int     `json:"closes"`
	Errors                   map[string]int     `json:"errors"`
	Latency                  latencyReport      `json:"input_to_broadcast_ms"`
	Exact                    bool               `json:"latency_exact"`
	Server                   *serverReport      `json:"server,omitempty"`
	lat                      []time.Duration
	measuring                bool
	began                    time.Time
}

type latencyReport struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func newReport(cfg config) *report {
	return &report{cfg: cfg, Players: cfg.players, Closes: map[string]int{}, Errors: map[string]int{},
		Exact: cfg.self && strings.HasSuffix(cfg.module, "recorder.wasm")}
}

func (r *report) settled() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Connected + r.Failed
}

func (r *report) begin() {
	r.mu.Lock()
	r.measuring, r.began = true, time.Now()
	r.mu.Unlock()
}

func (r *report) end() {
	r.mu.Lock()
	r.measuring = false
	r.Seconds = time.Since(r.began).Seconds()
	r.mu.Unlock()
}

func (r *report) connected() { r.mu.Lock(); r.Connected++; r.mu.Unlock() }

func (r *report) failed(msg string) {
	r.mu.Lock()
	r.Failed++
	r.Errors[msg]++
	r.mu.Unlock()
}

func (r *report) closed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ce *play.CloseError
	switch {
	case errors.As(err, &ce):
		r.Closes[fmt.Sprintf("%d %s", uint16(ce.Code), ce.Code)]++
	case err != nil:
		r.Errors[err.Error()]++
	default:
		r.Errors["closed"]++
	}
	if r.Connected+r.Failed < r.Players && !r.measuring {
		r.Failed++
	}
}

func (r *report) state(n int) {
	r.mu.Lock()
	if r.measuring {
		r.States++
		r.Bytes += int64(n)
	}
	r.mu.Unlock()
}

func (r *report) session(st play.Stats) {
	r.mu.Lock()
	r.Deltas += st.Deltas
	r.Keyframes += st.Keyframes
	r.mu.Unlock()
}

func (r *report) cpu(d time.Duration) {
	r.mu.Lock()
	r.CPUSeconds = d.Seconds()
	if r.States > 0 {
		r.CPUPerState = float64(d.Microseconds()) / float64(r.States)
	}
	r.mu.Unlock()
}

func (r *report) executor(cpu time.Duration, idleRSS, rss int64, cpus string) {
	r.mu.Lock()
	r.ExecutorCPUSeconds = cpu.Seconds()
	if r.States > 0 {
		r.ExecutorCPUPerState = float64(cpu.Microseconds()) / float64(r.States)
	}
	r.ExecutorRSS, r.ExecutorIdleRSS, r.ExecutorCPUs = rss, idleRSS, cpus
	if r.Connected > 0 {
		r.ExecutorRSSPerPlayer = float64(rss-idleRSS) / float64(r.Connected)
	}
	r.mu.Unlock()
}

func (r *report) syscalls(counts map[string]float64) {
	r.mu.Lock()
	r.ExecutorSyscalls = counts
	if r.States > 0 {
		r.ExecutorSyscallsPerState = map[string]float64{}
		for k, v := range counts {
			r.ExecutorSyscallsPerState[k] = v / float64(r.States)
		}
	}
	r.mu.Unlock()
}

func (r *report) input() {
	r.mu.Lock()
	if r.measuring {
		r.Inputs++
	}
	r.mu.Unlock()
}

func (r *report) latency(d time.Duration) {
	r.mu.Lock()
	if r.measuring {
		r.lat = append(r.lat, d)
	}
	r.mu.Unlock()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *report) write(w io.Writer, format string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	slices.Sort(r.lat)
	if n := len(r.lat); n > 0 {
		r.Latency = latencyReport{Count: n, P50: ms(r.lat[n*50/100]), P90: ms(r.lat[n*90/100]),
			P99: ms(r.lat[min(n-1, n*99/100)]), Max: ms(r.lat[n-1])}
	}
	if r.Seconds > 0 && r.Connected > 0 {
		r.BytesPerPlayer = float64(r.Bytes) / r.Seconds / float64(r.Connected)
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "players\t%d connected of %d (%d failed)\n", r.Connected, r.Players, r.Failed)
	fmt.Fprintf(tw, "duration\t%.1f s\n", r.Seconds)
	if r.Seconds > 0 {
		fmt.Fprintf(tw, "states\t%d (%.0f/s, %.1f/s per player, %.1f MB/s)\n", r.States, float64(r.States)/r.Seconds,
			float64(r.States)/r.Seconds/float64(max(r.Connected, 1)), float64(r.Bytes)/r.Seconds/1e6)
		fmt.Fprintf(tw, "inputs\t%d (%.0f/s)\n", r.Inputs, float64(r.Inputs)/r.Seconds)
		fmt.Fprintf(tw, "bandwidth\t%.0f bytes/s per player (%d deltas, %d keyframes, %d full states)\n", r.BytesPerPlayer,
			r.Deltas, r.Keyframes, max(0, r.States-int64(r.Deltas+r.Keyframes)))
		fmt.Fprintf(tw, "cpu\t%.2f s, %.1f µs per state received\n", r.CPUSeconds, r.CPUPerState)
		if r.ExecutorRSS > 0 {
			fmt.Fprintf(tw, "executor process\t%.2f s CPU (CPUs %s), %.1f µs per state received; RSS %.1f MiB (%.1f before the players, %.1f KiB per player)\n",
				r.ExecutorCPUSeconds, r.ExecutorCPUs, r.ExecutorCPUPerState, float64(r.ExecutorRSS)/(1<<20),
				float64(r.ExecutorIdleRSS)/(1<<20), r.ExecutorRSSPerPlayer/1024)
		}
		if p := r.ExecutorSyscallsPerState; p != nil {
			fmt.Fprintf(tw, "  system calls\t%.2f per state received (write %.2f, read %.2f, epoll_pwait %.2f, futex %.2f)\n",
				p["total"], p["write"], p["read"], p["epoll_pwait"], p["futex"])
		}
	}
	if c := r.Check; c != nil {
		fmt.Fprintf(tw, "check\t%d states of %d frames matched the witness, %d did not, %d unchecked\n",
			c.States-c.Mismatches, c.Frames, c.Mismatches, c.Unchecked)
	}
	kind := "send to the second state after (upper bound)"
	if r.Exact {
		kind = "send to the first state recording it (exact)"
	}
	fmt.Fprintf(tw, "input to broadcast\t%s\n", kind)
	fmt.Fprintf(tw, "  p50 / p90 / p99 / max\t%.2f / %.2f / %.2f / %.2f ms over %d inputs\n",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Count)
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "executor	%d frames, %d overruns, %d skipped, tick p50 %.3f ms p99 %.3f ms\n",
			s.Frames, s.Overruns, s.Skipped, s.TickP50, s.TickP99)
		fmt.Fprintf(tw, "  dropped	%.0f state frames, %.0f inputs; %.0f messages coalesced\n", s.StatesDropped, s.InputsDropped, s.Coalesced)
	}
	for _, m := range []map[string]int{r.Closes, r.Errors} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%d\n", k, m[k])
		}
	}
	return tw.Flush()
}
