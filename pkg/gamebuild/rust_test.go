package gamebuild_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmbin"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// exportTypes returns the function type of every function export of wasm,
// as "(i32 i32) -> (i32)".
func exportTypes(t *testing.T, wasm []byte) map[string]string {
	t.Helper()
	var types []wasmbin.FuncType
	var funcs []uint32 // type index of every function, imports first
	var exports []wasmbin.Export
	for s, err := range wasmbin.Sections(wasm) {
		if err != nil {
			t.Fatal(err)
		}
		r := s.Reader()
		switch s.ID {
		case wasmbin.SectionType:
			if types, err = r.Types(); err != nil {
				t.Fatal(err)
			}
		case wasmbin.SectionImport:
			n, err := r.Entries(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				im, err := r.Import()
				if err != nil {
					t.Fatal(err)
				}
				if im.Kind == wasmbin.KindFunc {
					funcs = append(funcs, im.Index)
				}
			}
		case wasmbin.SectionFunction:
			fs, err := r.Functions(len(types))
			if err != nil {
				t.Fatal(err)
			}
			funcs = append(funcs, fs...)
		case wasmbin.SectionExport:
			n, err := r.Entries(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			for range n {
				e, err := r.Export()
				if err != nil {
					t.Fatal(err)
				}
				exports = append(exports, e)
			}
		}
	}
	name := func(vs []wasmbin.ValType) string {
		var s []string
		for _, v := range vs {
			s = append(s, map[wasmbin.ValType]string{wasmbin.I32: "i32", wasmbin.I64: "i64", wasmbin.F32: "f32", wasmbin.F64: "f64"}[v])
		}
		return "(" + strings.Join(s, " ") + ")"
	}
	got := map[string]string{}
	for _, e := range exports {
		if e.Kind == wasmbin.KindFunc {
			ft := types[funcs[e.Index]]
			got[e.Name] = fmt.Sprintf("%s -> %s", name(ft.Params), name(ft.Results))
		}
	}
	return got
}

// TestRustSeedSignatures: the Rust module, built from the SDK's
// export_game! (whose functions are written with the seed's signatures:
// init(ptr: i32, len: i32) -> i32, tick(dt_ms: f32), on_input(p_ptr,
// p_len, i_ptr, i_len), serialize_state() -> *const u8), has exactly the
// ABI's export types, and nothing else but memory.
func TestRustSeedSignatures(t *testing.T) {
	got := exportTypes(t, gamebuildtest.Game(t, "rust-tag"))
	want := map[string]string{
		"init":            "(i32 i32) -> (i32)",
		"tick":            "(f32) -> ()",
		"on_input":        "(i32 i32 i32 i32) -> ()",
		"serialize_state": "() -> (i32)",
		"alloc":           "(i32) -> (i32)",
		"on_join":         "(i32 i32) -> ()",
		"on_leave":        "(i32 i32) -> ()",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("export %s: type %q, want %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && name != "_initialize" {
			t.Errorf("unexpected function export %s %s", name, got[name])
		}
	}
	// The seed's signatures, as the SDK's source spells them.
	src := readFile(t, filepath.Join(gamebuildtest.Root(), "sdk", "rust", "rcc-sdk", "src", "lib.rs"))
	for _, sig := range []string{
		`pub extern "C" fn init(ptr: i32, len: i32) -> i32`,
		`pub extern "C" fn tick(dt_ms: f32)`,
		`pub extern "C" fn on_input(p_ptr: i32, p_len: i32, i_ptr: i32, i_len: i32)`,
		`pub extern "C" fn serialize_state() -> *const u8`,
	} {
		if !strings.Contains(src, sig) {
			t.Errorf("sdk/rust/rcc-sdk/src/lib.rs lacks the seed's signature %s", sig)
		}
	}
}

// TestRustSDK runs the Rust SDK's own tests on the host: the world codec
// against pkg/world/testdata/TestGolden.golden (encode and decode), the
// config parser and the generator.
func TestRustSDK(t *testing.T) {
	opts := gamebuildtest.Options()
	cargo, env := "cargo", []string(nil)
	if opts.RustRoot != "" {
		usr := filepath.Join(opts.RustRoot, "usr")
		cargo = filepath.Join(usr, "bin", "cargo")
		llvm, _ := filepath.Glob(filepath.Join(usr, "lib", "llvm-*", "lib"))
		env = []string{
			"LD_LIBRARY_PATH=" + strings.Join(append([]string{filepath.Join(usr, "lib", "x86_64-linux-gnu")}, llvm...), ":"),
			"RUSTC=" + filepath.Join(usr, "bin", "rustc"),
		}
	} else {
		testenv.MustHaveCommand(t, "cargo", "make setup (scripts/setup-rust.sh) or install Rust from https://rustup.rs")
	}
	cmd := exec.Command(cargo, "test", "--offline", "--target-dir", filepath.Join(filepath.Dir(opts.CargoTargetDir), "target-host"))
	cmd.Dir = filepath.Join(gamebuildtest.Root(), "sdk", "rust", "rcc-sdk")
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cargo test in %s: %v\n%s", cmd.Dir, err, out)
	}
	for _, test := range []string{"encodes_the_golden_snapshot_of_pkg_world", "decodes_the_golden_snapshot_of_pkg_world"} {
		if !strings.Contains(string(out), "world::tests::"+test+" ... ok") {
			t.Errorf("cargo test did not pass %s:\n%s", test, out)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRustNotACdylib: a crate whose library is not a cdylib builds no
// module, and the error says what to change.
func TestRustNotACdylib(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte("[package]\nname = \"plain-lib\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"+rustProfile), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "lib.rs"), []byte("pub fn f() -> i32 { 1 }\n"), 0o644)
	opts := gamebuildtest.Options()
	if opts.RustRoot == "" {
		testenv.MustHaveCommand(t, "cargo", "make setup (scripts/setup-rust.sh) or install Rust from https://rustup.rs")
	}
	err := gamebuild.BuildWith(context.Background(), dir, filepath.Join(dir, "x.wasm"), opts)
	if err == nil || !strings.Contains(err.Error(), `crate-type ["cdylib"]`) || !strings.Contains(err.Error(), "plain_lib.wasm") {
		t.Fatalf("err = %v, want one saying the crate is not a cdylib", err)
	}
}

// rustProfile is the examples' release profile: a crate built with it
// reuses the standard library built for them.
const rustProfile = "\n[profile.release]\npanic = \"abort\"\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\n"

// TestRustPanicReachesTheLog: a Rust game's panic ends the instance, and
// its message reaches the instance's log (stderr) first.
func TestRustPanicReachesTheLog(t *testing.T) {
	dir := t.TempDir()
	sdk := filepath.Join(gamebuildtest.Root(), "sdk", "rust", "rcc-sdk")
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "Cargo.toml"), []byte("[package]\nname = \"panicky\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n"+
		"[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nrcc-sdk = { path = "+strconv.Quote(sdk)+" }\n"+rustProfile), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "lib.rs"), []byte(`
#[derive(Default)]
struct Panicky(u64);
impl rcc_sdk::Game for Panicky {
    fn init(&mut self, _: &rcc_sdk::Config) -> Result<(), String> { Ok(()) }
    fn tick(&mut self, _: f32) {
        self.0 += 1;
        if self.0 == 3 { panic!("frame {} is one too many", self.0); }
    }
    fn state(&mut self, dst: &mut Vec<u8>) -> Result<(), String> { dst.push(1); Ok(()) }
}
rcc_sdk::export_game!(Panicky::default());
`), 0o644)
	opts := gamebuildtest.Options()
	if opts.RustRoot == "" {
		testenv.MustHaveCommand(t, "cargo", "make setup (scripts/setup-rust.sh) or install Rust from https://rustup.rs")
	}
	out := filepath.Join(dir, "panicky.wasm")
	if err := gamebuild.BuildWith(context.Background(), dir, out, opts); err != nil {
		t.Fatal(err)
	}
	wasm := []byte(readFile(t, out))
	ctx := context.Background()
	engine, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(ctx)
	var log strings.Builder
	res, err := localrun.Run(ctx, engine, wasm, localrun.Options{Game: "panicky", Ticks: 10,
		Log: func(_ wasmhost.Stream, line string) { log.WriteString(line + "\n") }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() || res.Ticks != 2 || !strings.Contains(res.Error, "tick") {
		t.Errorf("run: %d ticks, error %q; want a failure in the third tick", res.Ticks, res.Error)
	}
	if !strings.Contains(log.String(), "frame 3 is one too many") || !strings.Contains(log.String(), "panicked at src/lib.rs") {
		t.Errorf("the log lacks the panic's message and place:\n%s", log.String())
	}
}
