package gamebuild

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cPackages are Debian's packages that compile C to wasm32-wasi.
const cPackages = "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"

// buildC compiles every .c file of dir in one clang call, as a reactor.
func buildC(ctx context.Context, dir, out string, opts Options) error {
	clang, err := exec.LookPath("clang")
	if err != nil {
		return fmt.Errorf("%w: clang is not on PATH; to build C games: %s", ErrNoToolchain, cPackages)
	}
	if _, err := exec.LookPath("wasm-ld"); err != nil {
		return fmt.Errorf("%w: wasm-ld (lld) is not on PATH; to build C games: %s", ErrNoToolchain, cPackages)
	}
	sysroot := opts.WASISysroot
	if sysroot == "" {
		sysroot = "/usr"
	}
	if _, err := os.Stat(filepath.Join(sysroot, "lib", "wasm32-wasi", "libc.a")); err != nil {
		return fmt.Errorf("%w: wasi-libc is not in %s; to build C games: %s", ErrNoToolchain, sysroot, cPackages)
	}
	if res, err := exec.CommandContext(ctx, clang, "-print-resource-dir").Output(); err == nil {
		rt := filepath.Join(strings.TrimSpace(string(res)), "lib", "wasi", "libclang_rt.builtins-wasm32.a")
		if _, err := os.Stat(rt); err != nil {
			return fmt.Errorf("%w: clang's wasm32 runtime (%s) is missing; to build C games: %s", ErrNoToolchain, rt, cPackages)
		}
	}
	srcs, err := filepath.Glob(filepath.Join(dir, "*.c"))
	if err != nil {
		return err
	}
	for i, s := range srcs {
		srcs[i] = filepath.Base(s)
	}
	args := append([]string{"--target=wasm32-wasi", "--sysroot=" + sysroot, "-O2", "-mexec-model=reactor",
		"-Wall", "-Werror=implicit-function-declaration", "-o", out}, srcs...)
	return run(ctx, dir, nil, clang, args...)
}

// buildAS compiles assembly/index.ts with the project's own assemblyscript
// (installed by npm ci from its lockfile when node_modules is missing).
func buildAS(ctx context.Context, dir, out string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	asc := filepath.Join(abs, "node_modules", ".bin", "asc")
	if _, err := os.Stat(asc); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			return fmt.Errorf("%w: %s has no node_modules and npm is not on PATH; apt-get install nodejs npm, then npm ci in %s", ErrNoToolchain, dir, dir)
		}
		if err := run(ctx, dir, nil, npm, "ci", "--no-audit", "--no-fund"); err != nil {
			return fmt.Errorf("install the AssemblyScript compiler: %w", err)
		}
		if _, err := os.Stat(asc); err != nil {
			return fmt.Errorf("%w: npm ci in %s did not install asc; add assemblyscript to its devDependencies", ErrNoToolchain, dir)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("%w: node is not on PATH; apt-get install nodejs", ErrNoToolchain)
	}
	// The stub runtime never frees, so a game keeps its buffers; without
	// --use abort= the module would import env.abort, which RCC refuses.
	return run(ctx, dir, nil, asc, filepath.Join("assembly", "index.ts"), "-o", out,
		"-O3", "--runtime", "stub", "--use", "abort=", "--noAssert")
}

// buildRust builds the crate's cdylib for wasm32-wasip1 in release mode and
// copies it to out.
func buildRust(ctx context.Context, dir, out string, opts Options) error {
	lib, err := cargoLibName(filepath.Join(dir, "Cargo.toml"))
	if err != nil {
		return err
	}
	target := opts.CargoTargetDir
	if target == "" {
		target = filepath.Join(dir, "target")
	}
	target, err = filepath.Abs(target)
	if err != nil {
		return err
	}
	args := []string{"build", "--release", "--target", WASMTarget, "--target-dir", target}
	var cargo string
	var env []string
	if opts.RustRoot != "" {
		cargo, env, args, err = offlineRust(opts.RustRoot, args)
		if err != nil {
			return err
		}
	} else {
		if cargo, err = exec.LookPath("cargo"); err != nil {
			return fmt.Errorf("%w: cargo is not on PATH; install Rust (https://rustup.rs), then rustup target add %s", ErrNoToolchain, WASMTarget)
		}
		rustc, err := exec.LookPath("rustc")
		if err != nil {
			return fmt.Errorf("%w: rustc is not on PATH; install Rust (https://rustup.rs), then rustup target add %s", ErrNoToolchain, WASMTarget)
		}
		// rustup's rustc proxy answers for the toolchain of dir.
		cmd := exec.CommandContext(ctx, rustc, "--print", "sysroot")
		cmd.Dir = dir
		sysroot, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("%w: rustc --print sysroot: %v", ErrNoToolchain, err)
		}
		std := filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", WASMTarget)
		if _, err := os.Stat(std); err != nil {
			return fmt.Errorf("%w: the Rust target %s is not installed (no %s); add it with: rustup target add %s", ErrNoToolchain, WASMTarget, std, WASMTarget)
		}
	}
	if err := run(ctx, dir, env, cargo, args...); err != nil {
		return err
	}
	wasm, err := os.ReadFile(filepath.Join(target, WASMTarget, "release", lib+".wasm"))
	if err != nil {
		return fmt.Errorf("build %s: cargo built no %s.wasm (is the crate's lib crate-type [\"cdylib\"]?): %w", dir, lib, err)
	}
	return os.WriteFile(out, wasm, 0o644)
}

// offlineRust returns the cargo of the toolchain extracted in root, the
// environment and the arguments that make it build the standard library
// from the vendored source, with no registry.
func offlineRust(root string, args []string) (string, []string, []string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", nil, nil, err
	}
	usr := filepath.Join(root, "usr")
	cargo := filepath.Join(usr, "bin", "cargo")
	vendor := filepath.Join(usr, "lib", "rustlib", "src", "rust", "library", "vendor")
	for _, p := range []string{cargo, vendor} {
		if _, err := os.Stat(p); err != nil {
			return "", nil, nil, fmt.Errorf("%w: the offline Rust toolchain in %s is incomplete (no %s); run scripts/setup-rust.sh (make setup)", ErrNoToolchain, root, p)
		}
	}
	linker, _ := filepath.Glob(filepath.Join(usr, "bin", "wasm-ld-*"))
	if len(linker) == 0 {
		return "", nil, nil, fmt.Errorf("%w: the offline Rust toolchain in %s has no wasm-ld; run scripts/setup-rust.sh (make setup)", ErrNoToolchain, root)
	}
	libs := []string{filepath.Join(usr, "lib", "x86_64-linux-gnu")}
	if llvm, _ := filepath.Glob(filepath.Join(usr, "lib", "llvm-*", "lib")); len(llvm) > 0 {
		libs = append(libs, llvm...)
	}
	env := []string{
		"LD_LIBRARY_PATH=" + strings.Join(libs, ":"),
		"RUSTC=" + filepath.Join(usr, "bin", "rustc"),
		"RUSTC_BOOTSTRAP=1",
		"RUSTFLAGS=-C linker=" + linker[0] + " -C link-self-contained=no -L native=" + filepath.Join(usr, "lib", "wasm32-wasi"),
	}
	args = append(args, "--offline", "-Zbuild-std=std,panic_abort",
		"--config", `source.crates-io.replace-with="rcc-vendored"`,
		"--config", fmt.Sprintf("source.rcc-vendored.directory=%q", vendor))
	return cargo, env, args, nil
}

// cargoLibName returns the file name cargo gives the crate's library: the
// [lib] name, else the package name, with - replaced by _.
func cargoLibName(manifest string) (string, error) {
	f, err := os.Open(manifest)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var section, pkg, lib string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[] ")
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "name" {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"'`)
		switch section {
		case "package":
			pkg = value
		case "lib":
			lib = value
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if lib == "" {
		lib = pkg
	}
	if lib == "" {
		return "", fmt.Errorf("%s: no [package] name", manifest)
	}
	return strings.ReplaceAll(lib, "-", "_"), nil
}
