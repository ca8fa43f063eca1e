// Command rcc-load puts player load on an executor: N players (sessions of
// pkg/play, the client library rcc-view uses) that join with tickets, send
// inputs at a fixed rate and read every state, and it reports the
// input-to-broadcast latency, the state rate and the close codes it saw.
// Players leave with a normal close at the end.
//
// Against a running executor, it mints tickets with the coordinator's
// signing key:
//
//	rcc-load --url ws://127.0.0.1:7070 --executor-id exec-1 --instance ID \
//	    --key-dir ~/.local/share/rcc/keys --players 50 --duration 30s
//
// With --self it starts an executor in its own process on loopback, with
// as many instances of --module as the players need (--per-instance each):
//
//	rcc-load --self --module pkg/wasmhost/testdata/recorder.wasm --players 200
//
// With the recorder test module (pkg/wasmhost/testdata/recorder.wasm) the
// latency is exact: the time from sending an input to receiving the first
// state that records it. With any other game it is the time from sending an
// input to receiving the second state after it, an upper bound.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes rcc-load with args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintln(stderr, "rcc-load:", err)
		return 2
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "rcc-load:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "rcc-load:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := load(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "rcc-load:", err)
		return 1
	}
	if err := rep.write(stdout, cfg.output); err != nil {
		fmt.Fprintln(stderr, "rcc-load:", err)
		return 1
	}
	if rep.Connected < cfg.players {
		return 1
	}
	return 0
}
