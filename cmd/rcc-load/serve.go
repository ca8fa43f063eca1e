package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/cmdline"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// serveEnv, set in the environment of the executor process that
// --separate starts, marks it as that child (the test binary runs its main
// when it is set).
const serveEnv = "RCC_LOAD_SERVE"

// serveInfo is what `rcc-load serve` prints on its first line of output:
// where the players connect and how their tickets are minted.
type serveInfo struct {
	URL        string   `json:"url"`
	ExecutorID string   `json:"executor_id"`
	Instances  []string `json:"instances"`
	KeyDir     string   `json:"key_dir"`
	PID        int      `json:"pid"`
	Recorder   bool     `json:"recorder"`
}

// newServeCmd is the hidden `rcc-load serve`: the executor of --self in a
// process of its own. It starts exactly what --self starts, prints a
// serveInfo line, then answers each "stats" line on its standard input
// with a serverReport line, and shuts down at the end of its input.
func newServeCmd() *cobra.Command {
	var cfg config
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run the executor of --self on loopback for a load generator in another process",
		Hidden: true,
		Args:   cmdline.Args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.self = true
			if err := cfg.validate(); err != nil {
				return cmdline.UsageError{Err: err}
			}
			return runServe(cmd.Context(), cfg, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.module, "module", "pkg/wasmhost/testdata/recorder.wasm", "the game module to run")
	fs.IntVar(&cfg.players, "players", 16, "number of players to make room for")
	fs.IntVar(&cfg.perInstance, "per-instance", 16, "players per instance (at most 79)")
	fs.BoolVar(&cfg.check, "check", false, "one more seat per instance, for the witness")
	fs.IntVar(&cfg.snapshotHz, "snapshot-hz", 0, "states per second the instances send (default: the executor's)")
	fs.IntVar(&cfg.socketWriteBuffer, "socket-write-buffer", 0, "kernel send buffer of each player's connection in bytes (default: the kernel's)")
	fs.BoolVar(&cfg.ioUring, "io-uring", false, "send the players' states through io_uring in batches (Linux, experimental)")
	fs.BoolVar(&cfg.noImages, "no-start-images", false, "every instance runs _initialize, none starts from its module's image")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the executor to this file")
	cfg.rate, cfg.output = 1, "json"
	return cmd
}

func runServe(ctx context.Context, cfg config, stdin io.Reader, stdout io.Writer) error {
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "rcc-load-keys-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		return err
	}
	se, err := startSelf(ctx, cfg, key)
	if err != nil {
		return err
	}
	defer se.close(ctx)
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(serveInfo{URL: se.url, ExecutorID: se.id, Instances: se.instances, KeyDir: dir,
		PID: os.Getpid(), Recorder: se.recorder}); err != nil {
		return err
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if strings.TrimSpace(l) == "stats" {
				if err := enc.Encode(se.report()); err != nil {
					return err
				}
			}
		}
	}
}

// selfExecutor is the executor of --self on loopback, with enough
// instances for the players.
type selfExecutor struct {
	url, id   string
	instances []string
	recorder  bool
	ex        *executor.Executor
	srv       *executor.Server
}

func startSelf(ctx context.Context, cfg config, key ed25519.PrivateKey) (*selfExecutor, error) {
	wasm, err := os.ReadFile(cfg.module)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	ver, err := auth.NewVerifier(key.Public().(ed25519.PublicKey), auth.Options{})
	if err != nil {
		return nil, err
	}
	ex, err := executor.New(ctx, executor.Config{
		ID: "load", Verifier: ver,
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Sandbox: wasmhost.Config{NoImages: cfg.noImages},
	})
	if err != nil {
		return nil, err
	}
	game := strings.TrimSuffix(filepath.Base(cfg.module), ".wasm")
	se := &selfExecutor{id: "load", ex: ex, recorder: game == "recorder"}
	n := (cfg.players + cfg.perInstance - 1) / cfg.perInstance
	for i := range n {
		seats := cfg.perInstance
		if cfg.check {
			seats++ // the witness
		}
		id := fmt.Sprint("load-", i)
		if err := ex.Start(ctx, executor.InstanceSpec{ID: id, Game: game, Module: wasm, MaxPlayers: seats, SnapshotHz: cfg.snapshotHz}); err != nil {
			_ = ex.Close(ctx)
			return nil, err
		}
		se.instances = append(se.instances, id)
	}
	// What follows measures the steady state: the variant of the module
	// that later starts would start from (compiled in the background from
	// its second start) is compiled before any player connects.
	if err := ex.WaitBackground(ctx); err != nil {
		_ = ex.Close(ctx)
		return nil, err
	}
	srv, err := executor.Listen(executor.ServeConfig{WSAddr: "127.0.0.1:0", SocketWriteBuffer: cfg.socketWriteBuffer, IOUring: cfg.ioUring})
	if err != nil {
		_ = ex.Close(ctx)
		return nil, err
	}
	srv.Serve(ctx, ex, nil)
	se.srv, se.url = srv, "ws://"+srv.WSAddr()
	return se, nil
}

// report is the executor's own figures so far.
func (se *selfExecutor) report() *serverReport {
	st := se.ex.Stats()
	sr := &serverReport{Frames: st.Frames, Overruns: st.Overruns, Skipped: st.Skipped,
		TickP50: ms(st.TickP50), TickP99: ms(st.TickP99)}
	fams, _ := se.ex.Registry().Gather()
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "rcc_executor_state_frames_dropped_total":
				sr.StatesDropped += m.GetCounter().GetValue()
			case "rcc_executor_inputs_dropped_total":
				sr.InputsDropped += m.GetCounter().GetValue()
			case "rcc_executor_coalesced_messages_total":
				sr.Coalesced += m.GetCounter().GetValue()
			}
		}
	}
	return sr
}

func (se *selfExecutor) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), executor.DefaultShutdownTimeout)
	defer cancel()
	_ = se.srv.Shutdown(sctx)
}

// separateTarget starts `rcc-load serve` as a child process (under
// taskset when --executor-cpus is set) and targets its executor.
func separateTarget(ctx context.Context, cfg config, stderr io.Writer) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--module", cfg.module, "--players", strconv.Itoa(cfg.players),
		"--per-instance", strconv.Itoa(cfg.perInstance), "--snapshot-hz", strconv.Itoa(cfg.snapshotHz),
		"--socket-write-buffer", strconv.Itoa(cfg.socketWriteBuffer)}
	if cfg.check {
		args = append(args, "--check")
	}
	if cfg.noImages {
		args = append(args, "--no-start-images")
	}
	if cfg.ioUring {
		args = append(args, "--io-uring")
	}
	if cfg.executorProfile != "" {
		args = append(args, "--cpuprofile", cfg.executorProfile)
	}
	name := exe
	if cfg.executorCPUs != "" {
		// taskset execs the executor: its process id stays the child's,
		// and every thread the Go runtime starts inherits the mask.
		name = "taskset"
		args = append([]string{"-c", cfg.executorCPUs, exe}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the executor process: %w", err)
	}
	stop := func() {
		_ = in.Close() // the end of its input shuts it down
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(executor.DefaultShutdownTimeout + 5*time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	dec := json.NewDecoder(out)
	var info serveInfo
	if err := decodeWithin(ctx, dec, &info, 2*time.Minute); err != nil {
		stop()
		return nil, fmt.Errorf("the executor process: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(info.KeyDir, auth.KeyFileName))
	if err == nil {
		var key ed25519.PrivateKey
		if key, err = auth.ParsePrivateKey(data); err == nil {
			var iss *auth.Issuer
			if iss, err = auth.NewIssuer(key, auth.Options{}); err == nil {
				return &target{
					url: info.URL, executorID: info.ExecutorID, issuer: iss,
					instanceOf: func(i int) string { return info.Instances[i/cfg.perInstance] },
					recorder:   info.Recorder,
					pid:        cmd.Process.Pid,
					server: func() *serverReport {
						var sr serverReport
						if _, err := fmt.Fprintln(in, "stats"); err != nil {
							return nil
						}
						if err := decodeWithin(ctx, dec, &sr, 30*time.Second); err != nil {
							return nil
						}
						return &sr
					},
					close: stop,
				}, nil
			}
		}
	}
	stop()
	return nil, fmt.Errorf("the executor process's key: %w", err)
}

// decodeWithin decodes the next JSON value of dec into v, failing after d.
func decodeWithin(ctx context.Context, dec *json.Decoder, v any, d time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- dec.Decode(v) }()
	select {
	case err := <-errc:
		if errors.Is(err, io.EOF) {
			return errors.New("exited before answering")
		}
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer in %s", d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// procStats are a process's figures from /proc.
type procStats struct {
	cpu      time.Duration // user and system time so far
	rss      int64         // resident set size in bytes
	cpusList string        // the CPUs it may run on
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on every Linux architecture Go runs on.
const clockTicks = 100

// readProc reads the figures of process pid from /proc.
func readProc(pid int) (procStats, error) {
	var ps procStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, err
	}
	// The command name, in parentheses, may hold spaces: the fields
	// counted are those after its closing parenthesis, from field 3 on.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ps, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return ps, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return ps, err
	}
	ps.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "VmRSS": // "1234 kB"
			n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			ps.rss = n << 10
		case "Cpus_allowed_list":
			ps.cpusList = v
		}
	}
	return ps, nil
}

// syscallEvents are the system calls --executor-syscalls counts: all of
// them, then the kinds a player's connection makes.
var syscallEvents = []string{"raw_syscalls:sys_enter", "syscalls:sys_enter_write", "syscalls:sys_enter_read",
	"syscalls:sys_enter_epoll_pwait", "syscalls:sys_enter_futex"}

// syscallName is the report's name of a perf event of syscallEvents.
func syscallName(event string) string {
	if event == "raw_syscalls:sys_enter" {
		return "total"
	}
	return strings.TrimPrefix(event, "syscalls:sys_enter_")
}

// syscallCount counts a process's system calls with `perf stat` (Linux
// perf, tracepoints) from start to stop.
type syscallCount struct {
	cmd  *exec.Cmd
	file string
}

func startSyscallCount(pid int) (*syscallCount, error) {
	f, err := os.CreateTemp("", "rcc-load-perf-")
	if err != nil {
		return nil, err
	}
	_ = f.Close()
	cmd := exec.Command("perf", "stat", "-x", ",", "-o", f.Name(), "-e", strings.Join(syscallEvents, ","), "-p", strconv.Itoa(pid))
	if err := cmd.Start(); err != nil {
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("count system calls: %w", err)
	}
	return &syscallCount{cmd: cmd, file: f.Name()}, nil
}

// stop ends the count and returns it by system call (total: all).
func (c *syscallCount) stop() (map[string]float64, error) {
	defer os.Remove(c.file)
	_ = c.cmd.Process.Signal(os.Interrupt)
	_ = c.cmd.Wait() // perf exits non-zero on SIGINT
	data, err := os.ReadFile(c.file)
	if err != nil {
		return nil, err
	}
	return parsePerfStat(string(data))
}

// parsePerfStat reads `perf stat -x ,` output: value,unit,event,...
func parsePerfStat(out string) (map[string]float64, error) {
	counts := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil { // <not counted>, <not supported>
			continue
		}
		counts[syscallName(f[2])] = v
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("no count in perf's output %q", out)
	}
	return counts, nil
}
