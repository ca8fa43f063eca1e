package meter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/rcc-games/rcc/pkg/meter"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// wazeroSpecDir returns the directory of wazero's copy of the WebAssembly
// spec tests (the .wast files compiled with wast2json) in the module cache.
// The main module builds on a patched copy of wazero (third_party/wazero,
// without tests): the spec tests are those of the upstream module of the
// same version, which `make setup` downloads.
func wazeroSpecDir() (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go command is not on PATH: cannot locate wazero's spec tests")
	}
	ver, err := exec.Command(gobin, "list", "-m", "-f", "{{.Version}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		return "", fmt.Errorf("locate the wazero module: %w", err)
	}
	mod := "github.com/tetratelabs/wazero@" + strings.TrimSpace(string(ver))
	out, err := exec.Command(gobin, "mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("wazero's spec tests are not in the module cache (make setup downloads %s): %w", mod, err)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		return "", fmt.Errorf("go mod download -json %s: no directory in %q", mod, out)
	}
	dir := filepath.Join(dl.Dir, "internal", "integration_test", "spectest")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("wazero's spec tests are not in the module cache: %w", err)
	}
	return dir, nil
}

type specCommand struct {
	Type     string     `json:"type"`
	Line     int        `json:"line"`
	Filename string     `json:"filename"`
	Action   specAction `json:"action"`
}

type specAction struct {
	Type   string      `json:"type"`
	Module string      `json:"module"`
	Field  string      `json:"field"`
	Args   []specValue `json:"args"`
}

type specValue struct {
	Type     string          `json:"type"`
	LaneType string          `json:"lane_type"`
	Value    json.RawMessage `json:"value"`
}

// encode returns the wazero encoding of an argument, or false when it is
// a reference or otherwise not representable.
func (v specValue) encode() ([]uint64, bool) {
	switch v.Type {
	case "i32", "i64", "f32", "f64":
		var s string
		if json.Unmarshal(v.Value, &s) != nil {
			return nil, false
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return []uint64{n}, err == nil
	case "v128":
		var lanes []string
		if json.Unmarshal(v.Value, &lanes) != nil || len(lanes) == 0 {
			return nil, false
		}
		var b [16]byte
		width := 16 / len(lanes)
		for i, l := range lanes {
			n, err := strconv.ParseUint(l, 10, 64)
			if err != nil {
				return nil, false
			}
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], n)
			copy(b[i*width:(i+1)*width], w[:width])
		}
		return []uint64{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])}, true
	}
	return nil, false
}

// TestSpecSuite runs the WebAssembly 2.0 spec test modules through
// Instrument: every module wazero compiles must be instrumented (in both
// modes) into a module it compiles too, and every invocation of the spec
// scripts must give the same results, bit for bit, and the same traps,
// metered and unmetered. Modules of the proposals RCC refuses must be
// refused as unsupported, or instrumented when they do not use them.
func TestSpecSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs the spec test suite")
	}
	dir, err := wazeroSpecDir()
	if err != nil {
		testenv.Unavailable(t, "wazero's spec test suite", err.Error())
	}
	scripts, _ := filepath.Glob(filepath.Join(dir, "v2", "testdata", "*.json"))
	if len(scripts) == 0 {
		testenv.Unavailable(t, "wazero's spec test scripts", "none found in "+dir)
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig()
	var modules, invocations int
	for _, script := range scripts {
		t.Run(strings.TrimSuffix(filepath.Base(script), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			var s struct{ Commands []specCommand }
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			var plain *specInstance
			var metered [2]*specInstance
			for _, c := range s.Commands {
				switch c.Type {
				case "module":
					plain, metered = nil, [2]*specInstance{}
					wasm, err := os.ReadFile(filepath.Join(filepath.Dir(script), c.Filename))
					if err != nil {
						t.Fatal(err)
					}
					rt := wazero.NewRuntimeWithConfig(ctx, cfg)
					t.Cleanup(func() { rt.Close(ctx) })
					if _, err := rt.CompileModule(ctx, wasm); err != nil {
						continue
					}
					modules++
					for i, opts := range modes {
						opts.InitialFuel = 1 << 40 // for start functions
						out, err := meter.Instrument(wasm, opts)
						if err != nil {
							t.Fatalf("%s (line %d): %v", c.Filename, c.Line, err)
						}
						if _, err := rt.CompileModule(ctx, out); err != nil {
							t.Fatalf("%s (line %d): instrumented module does not compile: %v", c.Filename, c.Line, err)
						}
						metered[i] = newSpecInstance(ctx, cfg, out)
					}
					plain = newSpecInstance(ctx, cfg, wasm)
					for i, m := range metered {
						if (plain.mod == nil) != (m.mod == nil) {
							t.Errorf("%s (line %d), %v: instantiated unmetered %v, metered %v",
								c.Filename, c.Line, modes[i].Checks, plain.mod != nil, m.mod != nil)
						}
					}
				case "assert_return", "assert_trap", "action", "assert_exhaustion":
					if plain == nil || plain.mod == nil || c.Action.Type != "invoke" || c.Action.Module != "" {
						continue
					}
					var args []uint64
					ok := true
					for _, a := range c.Action.Args {
						enc, good := a.encode()
						ok = ok && good
						args = append(args, enc...)
					}
					if !ok {
						continue
					}
					invocations++
					want, wantErr := plain.call(ctx, c.Action.Field, args, -1)
					for i, m := range metered {
						if m == nil || m.mod == nil {
							continue
						}
						got, err := m.call(ctx, c.Action.Field, args, 1<<40)
						if returnsRef(m.mod, c.Action.Field) {
							// References are host addresses, which differ
							// between instances.
							got, want = nil, nil
						}
						if (err == nil) != (wantErr == nil) || !slicesEqual(got, want) {
							t.Errorf("%s line %d, %v: %s%v = %v, %v metered; %v, %v unmetered",
								filepath.Base(script), c.Line, modes[i].Checks, c.Action.Field, args, got, err, want, wantErr)
						}
						if left, _ := meter.Fuel(m.mod); err != nil && left < 0 {
							t.Errorf("%s line %d: %s trapped with negative fuel", filepath.Base(script), c.Line, c.Action.Field)
						}
					}
				}
			}
		})
	}
	t.Logf("%d modules, %d invocations compared", modules, invocations)

	// Proposals that Instrument refuses: each module must be either
	// refused as unsupported or (when it does not use the proposal)
	// instrumented into a module that validates with the proposal on.
	for _, p := range []struct {
		dir      string
		features api.CoreFeatures
	}{
		{"tail-call", api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall},
		{"exception-handling", api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling},
		{"threads", api.CoreFeaturesV2 | experimental.CoreFeaturesThreads},
		{"typed-function-references", api.CoreFeaturesV2 | experimental.CoreFeaturesTypedFunctionReferences},
	} {
		files, _ := filepath.Glob(filepath.Join(dir, p.dir, "testdata", "*.wasm"))
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(p.features))
		var refused, kept int
		for _, f := range files {
			wasm, _ := os.ReadFile(f)
			if _, err := rt.CompileModule(ctx, wasm); err != nil {
				continue
			}
			out, err := meter.Instrument(wasm, meter.Options{})
			switch {
			case errors.Is(err, meter.ErrUnsupported):
				refused++
			case err != nil:
				t.Errorf("%s/%s: %v", p.dir, filepath.Base(f), err)
			default:
				kept++
				if _, err := rt.CompileModule(ctx, out); err != nil {
					t.Errorf("%s/%s: instrumented module does not compile: %v", p.dir, filepath.Base(f), err)
				}
			}
		}
		if refused == 0 && len(files) > 0 {
			t.Errorf("%s: no module refused", p.dir)
		}
		t.Logf("%s: %d refused, %d instrumented", p.dir, refused, kept)
		rt.Close(ctx)
	}
}

type specInstance struct {
	mod api.Module
}

// newSpecInstance instantiates a module in its own runtime; mod stays nil
// when it cannot be (imports of the spec harness, start traps).
func newSpecInstance(ctx context.Context, cfg wazero.RuntimeConfig, wasm []byte) *specInstance {
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return &specInstance{}
	}
	return &specInstance{mod: mod}
}

// call invokes an export, with the given fuel unless fuel is negative.
func (s *specInstance) call(ctx context.Context, name string, args []uint64, fuel int64) ([]uint64, error) {
	fn := s.mod.ExportedFunction(name)
	if fn == nil {
		return nil, errors.New("no export " + name)
	}
	if fuel >= 0 {
		meter.SetFuel(s.mod, fuel)
	}
	return fn.Call(ctx, args...)
}

func slicesEqual(a, b []uint64) bool {
	return len(a) == len(b) && bytes.Equal(u64bytes(a), u64bytes(b))
}

func u64bytes(v []uint64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	return b
}

func returnsRef(m api.Module, name string) bool {
	fn := m.ExportedFunction(name)
	if fn == nil {
		return false
	}
	for _, t := range fn.Definition().ResultTypes() {
		if t == 0x70 || t == api.ValueTypeExternref { // funcref, externref
			return true
		}
	}
	return false
}
