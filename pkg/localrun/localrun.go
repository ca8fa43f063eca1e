package localrun

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Options configure a run.
type Options struct {
	Game   string
	Ticks  int
	Seed   uint64
	TickHz int
	// Players join at the first frame as p1..pN.
	Players    int
	MaxPlayers int
	Params     json.RawMessage
	// Script, when set, replaces the random input with these events.
	Script []ScriptEvent
	// InputBytes and InputEvery shape the random input: every InputEvery
	// frames each player sends InputBytes random bytes (defaults 3 and 1).
	InputBytes int
	InputEvery int
	Log        wasmhost.LogFunc
	// OnFrame, when set, sees every frame's state (valid during the call).
	OnFrame func(frame int, state []byte)
	// Record, when set, receives the run's input log: every frame's events
	// and state hash (see pkg/replay).
	Record io.Writer
	// InitFuel, FrameFuel and MemoryLimitPages are the instance's sandbox
	// limits, as a deployed version's limits would set them; 0 keeps the
	// engine's (see wasmhost.InstanceConfig).
	InitFuel, FrameFuel int64
	MemoryLimitPages    uint32
}

// ScriptEvent is one line of an input script (JSON Lines).
type ScriptEvent struct {
	Frame  int    `json:"frame"`
	Player string `json:"player"`
	// Kind is "input" (the default), "join" or "leave".
	Kind string `json:"kind,omitempty"`
	// Data is the input as base64; Text is the input as UTF-8. One of the
	// two, or neither for an empty input.
	Data string `json:"data,omitempty"`
	Text string `json:"text,omitempty"`

	bytes []byte
	kind  wasmhost.EventKind
}

// ReadScript parses JSON Lines of ScriptEvents, in frame order.
func ReadScript(r io.Reader) ([]ScriptEvent, error) {
	var events []ScriptEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev ScriptEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("input line %d: %w", line, err)
		}
		if err := ev.resolve(); err != nil {
			return nil, fmt.Errorf("input line %d: %w", line, err)
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(events, func(a, b ScriptEvent) int { return a.Frame - b.Frame })
	return events, nil
}

func (ev *ScriptEvent) resolve() error {
	if ev.Frame < 1 {
		return fmt.Errorf("frame %d: frames start at 1", ev.Frame)
	}
	if ev.Player == "" {
		return fmt.Errorf("no player")
	}
	switch ev.Kind {
	case "", "input":
		ev.kind = wasmhost.EventInput
	case "join":
		ev.kind = wasmhost.EventJoin
	case "leave":
		ev.kind = wasmhost.EventLeave
	default:
		return fmt.Errorf("kind %q: want input, join or leave", ev.Kind)
	}
	switch {
	case ev.Data != "" && ev.Text != "":
		return fmt.Errorf("both data and text")
	case ev.Data != "":
		b, err := base64.StdEncoding.DecodeString(ev.Data)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		ev.bytes = b
	default:
		ev.bytes = []byte(ev.Text)
	}
	return nil
}

// Result summarises a run. Its JSON is the output of `rccctl game run
// --output json`.
type Result struct {
	Game         string `json:"game"`
	ModuleSHA256 string `json:"module_sha256"`
	Seed         uint64 `json:"seed"`
	Players      int    `json:"players"`
	Ticks        int    `json:"ticks"`
	StateSHA256  string `json:"state_sha256"`
	StateBytes   int    `json:"state_bytes"`
	TickP50us    int64  `json:"tick_p50_us"`
	TickP99us    int64  `json:"tick_p99_us"`
	TickMaxus    int64  `json:"tick_max_us"`
	MemoryBytes  uint64 `json:"memory_bytes"`
	// FuelInit is the fuel of _initialize and init; FuelP50 and FuelMax
	// that of the frames (all 0 when the module is not metered).
	FuelInit        int64  `json:"fuel_init"`
	FuelP50         int64  `json:"fuel_p50"`
	FuelMax         int64  `json:"fuel_max"`
	LogLines        uint64 `json:"log_lines"`
	DroppedLogLines uint64 `json:"dropped_log_lines"`
	ExitReason      string `json:"exit_reason"`
	Error           string `json:"error"`

	// State is the last frame's state.
	State []byte `json:"-"`
}

// Failed reports whether the instance ended with an error.
func (r *Result) Failed() bool { return r.Error != "" }

// Run compiles wasm on engine and runs it. An instance failure is reported
// in the Result, not as an error; the error is for the run itself.
func Run(ctx context.Context, engine *wasmhost.Engine, wasm []byte, opts Options) (*Result, error) {
	if opts.Ticks < 0 {
		return nil, fmt.Errorf("ticks %d: want zero or more", opts.Ticks)
	}
	if opts.InputBytes <= 0 {
		opts.InputBytes = 3
	}
	if opts.InputEvery <= 0 {
		opts.InputEvery = 1
	}
	if opts.TickHz <= 0 {
		opts.TickHz = wasmhost.DefaultTickHz
	}
	if opts.MaxPlayers == 0 {
		opts.MaxPlayers = max(opts.Players, 16)
	}
	res := &Result{Game: opts.Game, Seed: opts.Seed, Players: opts.Players}
	sum := sha256.Sum256(wasm)
	res.ModuleSHA256 = hex.EncodeToString(sum[:])

	header := replay.Header{
		Game: opts.Game, InstanceID: "local", Version: res.ModuleSHA256[:12], ModuleSHA256: res.ModuleSHA256,
		Seed: opts.Seed, MaxPlayers: opts.MaxPlayers, TickHz: opts.TickHz, Params: opts.Params,
		InitFuel: opts.InitFuel, FrameFuel: opts.FrameFuel, MemoryLimitPages: opts.MemoryLimitPages,
	}
	inst, err := instantiate(ctx, engine, wasm, instanceConfig(header, opts.Log))
	if err != nil {
		res.fail(err)
		return res, nil
	}
	defer inst.Close(ctx)
	var rec *replay.Writer
	if opts.Record != nil {
		if rec, err = replay.NewWriter(opts.Record, header); err != nil {
			return nil, err
		}
	}

	players := make([]string, opts.Players)
	for i := range players {
		players[i] = fmt.Sprintf("p%d", i+1)
	}
	// The input generator has its own stream, apart from the guest's seed.
	rng := rand.New(rand.NewPCG(opts.Seed, 0x72636320696e7075))
	durations := make([]time.Duration, 0, opts.Ticks)
	fuel := make([]int64, 0, opts.Ticks)
	res.FuelInit = inst.Stats().FuelUsed
	script := opts.Script
	var events []wasmhost.Event
	var state []byte
	for frame := 1; frame <= opts.Ticks; frame++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		events = events[:0]
		if frame == 1 {
			for _, p := range players {
				events = append(events, wasmhost.Event{Kind: wasmhost.EventJoin, Player: p})
			}
		}
		if opts.Script != nil {
			for len(script) > 0 && script[0].Frame == frame {
				events = append(events, wasmhost.Event{Kind: script[0].kind, Player: script[0].Player, Data: script[0].bytes})
				script = script[1:]
			}
		} else if frame%opts.InputEvery == 0 {
			for _, p := range players {
				data := make([]byte, opts.InputBytes)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				events = append(events, wasmhost.Event{Kind: wasmhost.EventInput, Player: p, Data: data})
			}
		}
		start := time.Now()
		state, err = inst.Frame(ctx, events)
		durations = append(durations, time.Since(start))
		if err != nil {
			res.fail(err)
			break
		}
		res.Ticks = frame
		fuel = append(fuel, inst.Stats().FuelUsed)
		if opts.OnFrame != nil {
			opts.OnFrame(frame, state)
		}
		if rec != nil {
			if err := rec.WriteFrame(replay.Frame{Frame: uint64(frame), Events: toReplay(events), StateSHA256: hashHex(state)}); err != nil {
				return nil, err
			}
		}
	}
	if rec != nil {
		if err := rec.Flush(); err != nil {
			return nil, err
		}
	}
	if state != nil && !res.Failed() {
		res.State = append([]byte(nil), state...)
		res.StateSHA256 = hashHex(res.State)
		res.StateBytes = len(res.State)
	}
	st := inst.Stats()
	res.MemoryBytes, res.LogLines, res.DroppedLogLines = st.MemoryBytes, st.LogLines, st.DroppedLogLines
	res.TickP50us, res.TickP99us, res.TickMaxus = percentileMicros(durations, 50), percentileMicros(durations, 99), percentileMicros(durations, 100)
	if len(fuel) > 0 {
		slices.Sort(fuel)
		res.FuelP50, res.FuelMax = fuel[(len(fuel)-1)/2], fuel[len(fuel)-1]
	}
	return res, nil
}

// instantiate compiles wasm and starts an instance configured as h says.
// instanceConfig is the instance of a run or replay header.
func instanceConfig(h replay.Header, log wasmhost.LogFunc) wasmhost.InstanceConfig {
	return wasmhost.InstanceConfig{
		InstanceID: h.InstanceID, Game: h.Game, Version: h.Version, Seed: h.Seed,
		MaxPlayers: h.MaxPlayers, TickHz: h.TickHz, Params: h.Params, Log: log,
		InitFuel: h.InitFuel, FrameFuel: h.FrameFuel, MemoryLimitPages: h.MemoryLimitPages,
	}
}

func instantiate(ctx context.Context, engine *wasmhost.Engine, wasm []byte, cfg wasmhost.InstanceConfig) (*wasmhost.Instance, error) {
	mod, err := engine.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return mod.Instantiate(ctx, cfg)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var kindNames = map[wasmhost.EventKind]string{
	wasmhost.EventJoin: replay.KindJoin, wasmhost.EventLeave: replay.KindLeave, wasmhost.EventInput: replay.KindInput,
}

func toReplay(events []wasmhost.Event) []replay.Event {
	if len(events) == 0 {
		return nil
	}
	out := make([]replay.Event, len(events))
	for i, e := range events {
		out[i] = replay.Event{Kind: kindNames[e.Kind], Player: e.Player, Data: e.Data}
	}
	return out
}

func (r *Result) fail(err error) {
	r.Error = err.Error()
	r.ExitReason = string(wasmhost.ReasonOf(err))
}

// percentileMicros is the p-th percentile (nearest rank) of ds in µs.
func percentileMicros(ds []time.Duration, p int) int64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Microseconds()
}
