package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/cmdline"

	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

func newGameCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "game",
		Short: "Build, check, run and deploy game modules",
	}
	cmd.AddCommand(newGameBuildCmd(), newGameCheckCmd(), newGameRunCmd(), newGameReplayCmd(), newGameDevCmd())
	addGameServerCmds(cmd)
	return cmd
}

func newGameBuildCmd() *cobra.Command {
	var out string
	var opts gamebuild.Options
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Compile a game directory (Go, Rust, C or AssemblyScript) to a WebAssembly module",
		Long: "Compile the game in DIR (default .) to a WASI reactor, then check the module\n" +
			"against the guest ABI. The kind of project is found from its files:\n" +
			"  Cargo.toml     Rust: cargo build --release --target wasm32-wasip1 (the crate is a cdylib)\n" +
			"  package.json   AssemblyScript: the project's asc on assembly/index.ts (npm ci first when\n" +
			"                 node_modules is missing)\n" +
			"  go.mod, *.go   Go: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared\n" +
			"  *.c            C: clang --target=wasm32-wasi -mexec-model=reactor on every .c file\n" +
			"A missing toolchain is named with how to install it. Rust needs the wasm32-wasip1\n" +
			"target (rustup target add wasm32-wasip1), or --rust-root: the offline toolchain that\n" +
			"the RCC repository's make setup extracts from Debian's packages into build/rust/root.",
		Args: cmdline.Args("[DIR]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if out == "" {
				abs, err := filepath.Abs(dir)
				if err != nil {
					return err
				}
				out = filepath.Base(abs) + ".wasm"
			}
			if err := gamebuild.BuildWith(cmd.Context(), dir, out, opts); err != nil {
				return err
			}
			wasm, err := os.ReadFile(out)
			if err != nil {
				return err
			}
			if err := wasmhost.Check(wasm, 0).Err(); err != nil {
				return fmt.Errorf("built %s, but it is not a valid game: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s (%s)\n", out, humanBytes(uint64(len(wasm))))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output file (default DIR's name with .wasm)")
	cmd.Flags().StringVar(&opts.RustRoot, "rust-root", os.Getenv("RCC_RUST_ROOT"),
		"offline Rust toolchain extracted from Debian's packages (default $RCC_RUST_ROOT; empty: cargo and rustc from PATH)")
	cmd.Flags().StringVar(&opts.CargoTargetDir, "cargo-target-dir", os.Getenv("RCC_CARGO_TARGET_DIR"),
		"cargo's target directory for Rust games (default $RCC_CARGO_TARGET_DIR, else DIR/target)")
	return cmd
}

func newGameCheckCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a module against the guest ABI",
		Long:  "Print what the module imports and exports and every way it breaks the guest ABI;\nexit 1 when it has any problem.",
		Args:  cmdline.Args("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			report := wasmhost.Check(wasm, 0)
			w := cmd.OutOrStdout()
			if output == "json" {
				if err := writeJSON(w, checkJSON(report)); err != nil {
					return err
				}
			} else {
				printReport(w, args[0], report)
			}
			if !report.OK() {
				return silentExit(exitFail)
			}
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func printReport(w io.Writer, file string, r *wasmhost.Report) {
	fmt.Fprintf(w, "module    %s (%s)\n", file, humanBytes(uint64(r.Size)))
	fmt.Fprintf(w, "imports   %s\n", listOrNone(r.Imports))
	fmt.Fprintf(w, "exports   %s\n", listOrNone(r.Exports))
	mem := fmt.Sprintf("%d pages at start", r.MemoryMinPages)
	if r.MemoryMaxPages > 0 {
		mem += fmt.Sprintf(", %d at most", r.MemoryMaxPages)
	}
	fmt.Fprintf(w, "memory    %s (cap %d pages, 64 MiB)\n", mem, wasmhost.DefaultMemoryLimitPages)
	if r.OK() {
		fmt.Fprintln(w, "result    OK: the module implements guest ABI v1")
		return
	}
	fmt.Fprintf(w, "result    %d problem(s):\n", len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  - %s: %s\n", p.Code, p.Message)
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}

type gameRunFlags struct {
	ticks, players, maxPlayers, tickHz int
	seed                               uint64
	input, stateOut, params, output    string
	record                             string
	inputBytes, inputEvery             int
	quiet                              bool
	limits                             limitFlags
}

func newGameRunCmd() *cobra.Command {
	var f gameRunFlags
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run one instance headless, with simulated players",
		Long: "Run one instance of the module locally, with no server: --players join as p1..pN\n" +
			"and send seeded-random input every --input-every frames, or the events of an --input\n" +
			"script (JSON Lines: {\"frame\":1,\"player\":\"p1\",\"kind\":\"input\",\"data\":\"<base64>\"}, or \"text\"\n" +
			"instead of data; kind input, join or leave). The same module, seed and input give the\n" +
			"same state_sha256 on every run and machine. --init-fuel, --frame-fuel and --memory-mib\n" +
			"try the sandbox limits a deploy may set. Exit 1 when the instance fails.",
		Args: cmdline.Args("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error { return runGame(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.ticks, "ticks", 600, "frames to run")
	fl.IntVar(&f.players, "players", 1, "simulated players")
	fl.IntVar(&f.maxPlayers, "max-players", 0, "max_players given to the game (default max(players, 16))")
	fl.IntVar(&f.tickHz, "tick-hz", wasmhost.DefaultTickHz, "tick rate")
	fl.Uint64Var(&f.seed, "seed", 1, "instance seed")
	fl.StringVar(&f.params, "params", "{}", "game parameters, a JSON object")
	fl.StringVar(&f.input, "input", "", "input script, JSON Lines (default: seeded-random input)")
	fl.IntVar(&f.inputBytes, "input-bytes", 3, "bytes of each random input")
	fl.IntVar(&f.inputEvery, "input-every", 1, "random input every N frames")
	fl.StringVar(&f.stateOut, "state-out", "", "write the final state bytes to this file")
	fl.StringVar(&f.record, "record", "", "write the run's input log to this file, for game replay")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the guest's log lines")
	addLimitFlags(cmd, &f.limits)
	addOutputFlag(cmd, &f.output)
	return cmd
}

func runGame(cmd *cobra.Command, file string, f gameRunFlags) error {
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if f.players < 0 || f.ticks < 0 {
		return usageError{Err: fmt.Errorf("--players and --ticks must not be negative")}
	}
	if !json.Valid([]byte(f.params)) {
		return usageError{Err: fmt.Errorf("--params is not valid JSON")}
	}
	if err := f.limits.check(); err != nil {
		return err
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	opts := localrun.Options{
		Game: strings.TrimSuffix(filepath.Base(file), ".wasm"), Ticks: f.ticks, Seed: f.seed,
		TickHz: f.tickHz, Players: f.players, MaxPlayers: f.maxPlayers, Params: json.RawMessage(f.params),
		InputBytes: f.inputBytes, InputEvery: f.inputEvery,
		InitFuel: int64(f.limits.initFuel), FrameFuel: int64(f.limits.frameFuel), MemoryLimitPages: f.limits.pages(),
	}
	if f.input != "" {
		in, err := os.Open(f.input)
		if err != nil {
			return err
		}
		opts.Script, err = localrun.ReadScript(in)
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.input, err)
		}
		if opts.Script == nil {
			opts.Script = []localrun.ScriptEvent{}
		}
	}
	if !f.quiet {
		opts.Log = guestLog(cmd.ErrOrStderr())
	}
	if f.record != "" {
		rec, err := os.Create(f.record)
		if err != nil {
			return err
		}
		defer rec.Close()
		opts.Record = rec
	}
	engine, err := newLocalEngine(cmd)
	if err != nil {
		return err
	}
	defer engine.Close(cmd.Context())
	res, err := localrun.Run(cmd.Context(), engine, wasm, opts)
	if err != nil {
		return err
	}
	if f.stateOut != "" && res.State != nil {
		if err := os.WriteFile(f.stateOut, res.State, 0o644); err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	if f.output == "json" {
		if err := writeJSON(w, gameRunJSON(res)); err != nil {
			return err
		}
	} else {
		printRun(w, res)
	}
	if res.Failed() {
		return silentExit(exitFail)
	}
	return nil
}

func printRun(w io.Writer, r *localrun.Result) {
	fmt.Fprintf(w, "game      %s (module sha256 %s)\n", r.Game, r.ModuleSHA256[:16])
	fmt.Fprintf(w, "ran       %d ticks, %d players, seed %d\n", r.Ticks, r.Players, r.Seed)
	fmt.Fprintf(w, "frame     p50 %d µs, p99 %d µs, max %d µs\n", r.TickP50us, r.TickP99us, r.TickMaxus)
	fmt.Fprintf(w, "fuel      init %d, frame p50 %d, max %d\n", r.FuelInit, r.FuelP50, r.FuelMax)
	fmt.Fprintf(w, "memory    %s\n", humanBytes(r.MemoryBytes))
	fmt.Fprintf(w, "logs      %d lines, %d dropped\n", r.LogLines, r.DroppedLogLines)
	if r.Failed() {
		fmt.Fprintf(w, "FAILED    %s\n", r.Error)
		return
	}
	fmt.Fprintf(w, "state     %d bytes, sha256 %s\n", r.StateBytes, r.StateSHA256)
}

func newGameReplayCmd() *cobra.Command {
	var every uint64
	var snapshotAt []uint
	var output string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "replay FILE LOG",
		Short: "Replay a recorded input log and check every frame's state",
		Long: "Run the module through the frames of LOG (written by game run --record) and compare\n" +
			"each frame's state hash with the recording. Prints the hash every --every frames and at\n" +
			"the end; exit 1 at the first frame whose state differs, naming it.",
		Args: cmdline.Args("FILE", "LOG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			log, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer log.Close()
			engine, err := newLocalEngine(cmd)
			if err != nil {
				return err
			}
			defer engine.Close(cmd.Context())
			var logf wasmhost.LogFunc
			if !quiet {
				logf = guestLog(cmd.ErrOrStderr())
			}
			res, err := localrun.ReplayWith(cmd.Context(), engine, wasm, log,
				localrun.ReplayOptions{Every: every, Log: logf, SnapshotAt: toUint64s(snapshotAt)})
			if err != nil {
				return fmt.Errorf("%s: %w", args[1], err)
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				if err := writeJSON(w, replayJSON(res)); err != nil {
					return err
				}
			} else {
				printReplay(w, res)
			}
			if !res.Match || res.Error != "" {
				return silentExit(exitFail)
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&every, "every", 0, "print the state hash every N frames (0: only at the end)")
	cmd.Flags().UintSliceVar(&snapshotAt, "snapshot-at", nil,
		"after these frames, snapshot the instance and go on in a fresh one restored from it (checks that the game migrates bit-exactly)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print the guest's log lines")
	addOutputFlag(cmd, &output)
	return cmd
}

func printReplay(w io.Writer, r *localrun.ReplayResult) {
	if !r.ModuleMatches {
		fmt.Fprintf(w, "note      module %s is not the one recorded\n", r.ModuleSHA256[:16])
	}
	for _, c := range r.Checkpoints {
		fmt.Fprintf(w, "frame %-6d %s\n", c.Frame, c.StateSHA256)
	}
	for _, f := range r.Restored {
		fmt.Fprintf(w, "restored  from a snapshot after frame %d\n", f)
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(w, "FAILED    %s\n", r.Error)
	case !r.Match:
		fmt.Fprintf(w, "DIVERGED  at frame %d: recorded %s, replayed %s\n", r.DivergedAt, r.Expected, r.Got)
	default:
		fmt.Fprintf(w, "match     %d frames replayed, every state identical\n", r.Frames)
	}
}

func guestLog(w io.Writer) wasmhost.LogFunc {
	return func(s wasmhost.Stream, line string) { fmt.Fprintf(w, "[%s] %s\n", s, line) }
}

func newLocalEngine(cmd *cobra.Command) (*wasmhost.Engine, error) {
	return wasmhost.NewEngine(cmd.Context(), wasmhost.Config{CacheDir: compileCacheDir()})
}

// compileCacheDir is where rccctl keeps compiled modules between runs, or
// "" when there is no user cache directory.
func compileCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir = filepath.Join(dir, "rcc", "compiled")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func toUint64s(v []uint) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = uint64(x)
	}
	return out
}
