package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/cmdline"
	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/gamedev"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func newGameDevCmd() *cobra.Command {
	var f serverFlags
	var (
		name       string
		build      gamebuild.Options
		quiet      time.Duration
		stop       bool
		maxPlayers uint32
		lease      time.Duration
		params     []string
		paramsJSON string
		seed       uint64
		record     bool
	)
	cmd := &cobra.Command{
		Use:   "dev [DIR]",
		Short: "Rebuild, deploy and hot-upgrade a game on every save, its players staying in the game",
		Long: `The author's loop against a coordinator (rccd dev, or the one --addr, --context
or $RCC_ADDR names): deploy the game in DIR (default .), spawn an instance of it
when none runs, then watch DIR's source tree (every directory under it, new
ones too; hidden files and directories, .wasm files, target/, node_modules/,
build/, dist/ and editors' temporary and swap files do not count). After each
burst of changes (--debounce without a further one) it builds the game as
rccctl game build does (Go, Rust, C or AssemblyScript), checks the module as
rccctl game check does, deploys it as the game's next version and hot-upgrades
every running instance of the game to it: rcc-view and other players stay
connected and see the new behaviour from the next frame. Each cycle prints
one line with its times (build, check, deploy, upgrade) and the version.

A compiler error, check problem, refused deploy or failed upgrade is printed in
full, the running instances stay on their version (a failed upgrade is rolled
back by the executor), and the next save tries again. A game without the
save_state/load_state pair (docs/abi.md, "Hot upgrade") is said so once, and
each change then restarts its instances instead: players reconnect and the
game starts over.

Ctrl-C ends the loop and leaves the instances running, so the game stays
playable on its last version; --stop-on-exit stops the ones game dev spawned.
While it runs, game dev renews the lease of the instances it spawned.`,
		Example: `  rccd dev &                      # a coordinator and executor on this machine
  rccctl game dev games/arena     # then edit games/arena/*.go and save
  rcc-view arena                  # in another terminal: play while you edit`,
		Args: cmdline.Args("[DIR]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if lease < 0 || lease%time.Second != 0 {
				return usageError{Err: fmt.Errorf("--lease %v: want a positive whole number of seconds", lease)}
			}
			ps, err := spawnParams(paramsJSON, params)
			if err != nil {
				return err
			}
			c, err := f.connect()
			if err != nil {
				return err
			}
			defer c.Close()
			err = gamedev.Run(cmd.Context(), c, gamedev.Config{
				Dir: dir, Game: name, Build: build, Quiet: quiet, CallTimeout: f.timeout, StopOnExit: stop,
				Spawn: &rccv1.SpawnRequest{MaxPlayers: maxPlayers, LeaseSeconds: uint32(lease / time.Second),
					Params: ps, Seed: seed, Record: record},
				Out: cmd.OutOrStdout(),
			})
			return f.callError(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "game name (default DIR's base name)")
	_ = cmd.RegisterFlagCompletionFunc("name", completeGames(&f))
	fl.DurationVar(&quiet, "debounce", gamedev.DefaultQuiet, "how long the sources must stay unchanged before a build starts")
	fl.BoolVar(&stop, "stop-on-exit", false, "stop the instances game dev spawned when it ends (default: leave them running)")
	fl.StringVar(&build.RustRoot, "rust-root", os.Getenv("RCC_RUST_ROOT"),
		"offline Rust toolchain extracted from Debian's packages (default $RCC_RUST_ROOT; empty: cargo and rustc from PATH)")
	fl.StringVar(&build.CargoTargetDir, "cargo-target-dir", os.Getenv("RCC_CARGO_TARGET_DIR"),
		"cargo's target directory for Rust games (default $RCC_CARGO_TARGET_DIR, else DIR/target)")
	fl.Uint32Var(&maxPlayers, "max-players", 0, "most players of the instance spawned when none runs (default 16)")
	fl.DurationVar(&lease, "lease", 0, "lease of the instance spawned when none runs, renewed while game dev runs (default 1h)")
	fl.StringArrayVar(&params, "param", nil, "game parameter key=value of the instance spawned when none runs (repeatable)")
	fl.StringVar(&paramsJSON, "params", "", "game parameters of the instance spawned when none runs, a JSON object")
	fl.Uint64Var(&seed, "seed", 0, "seed of the instance spawned when none runs (default random)")
	fl.BoolVar(&record, "record", false, "record the spawned instance's input log (rccctl instance input-log)")
	addServerFlags(cmd, &f, false)
	return cmd
}

// writeUpgraded prints each instance's upgrade as game deploy
// --upgrade-running reports it, and returns an error when any failed.
func writeUpgraded(w io.Writer, ups []gamedev.Upgraded, version uint32) error {
	failed := 0
	for _, u := range ups {
		if u.Err != nil {
			failed++
			fmt.Fprintf(w, "%s upgrade to version %d FAILED, it goes on with version %d: %v\n", u.ID, version, u.From, u.Err)
			continue
		}
		fmt.Fprintf(w, "%s upgraded from version %d to %d in %v\n", u.ID, u.From, version, u.Took.Round(time.Millisecond))
	}
	if len(ups) == 0 {
		fmt.Fprintf(w, "no running instance to upgrade\n")
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d upgrade(s) failed", failed, len(ups))
	}
	return nil
}

// upgradedJSON is an upgrade's result under --output json.
type upgradedJSON struct {
	ID          string `json:"id"`
	FromVersion uint32 `json:"from_version"`
	Version     uint32 `json:"version"`
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	TookMS      int64  `json:"took_ms"`
}

func upgradedJSONOf(ups []gamedev.Upgraded) []upgradedJSON {
	out := make([]upgradedJSON, 0, len(ups))
	for _, u := range ups {
		j := upgradedJSON{ID: u.ID, FromVersion: u.From, OK: u.Err == nil, TookMS: u.Took.Milliseconds()}
		if u.Instance != nil {
			j.Version = u.Instance.Version
		}
		if u.Err != nil {
			j.Error = u.Err.Error()
		}
		out = append(out, j)
	}
	return out
}

// deployUpgradeOut is game deploy --upgrade-running under --output json.
type deployUpgradeOut struct {
	deployOut
	Upgrades []upgradedJSON `json:"upgrades"`
}

// deployAndUpgrade is game deploy with --upgrade-running: deploy, print
// the version, then hot-upgrade every running instance of the game to it
// and print each one's result; it fails (exit 1) when any upgrade failed.
func deployAndUpgrade(cmd *cobra.Command, f *serverFlags, req client.DeployRequest, table view[*rccv1.UploadVersionResponse]) error {
	return f.withClient(cmd, func(ctx context.Context, c *client.Client) error {
		res, err := c.Deploy(ctx, req)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if f.output != "json" {
			if err := table.table(w, res, time.Now()); err != nil {
				return err
			}
		}
		uctx, cancel := context.WithTimeout(cmd.Context(), max(f.timeout, gamedev.UpgradeTimeout))
		defer cancel()
		ups, err := gamedev.UpgradeRunning(uctx, c, req.Game, res.Version.Version)
		if err != nil {
			return err
		}
		if f.output == "json" {
			if err := writeJSON(w, deployUpgradeOut{deployOut: deployJSON(res), Upgrades: upgradedJSONOf(ups)}); err != nil {
				return err
			}
			for _, u := range ups {
				if u.Err != nil {
					return silentExit(exitFail)
				}
			}
			return nil
		}
		return writeUpgraded(w, ups, res.Version.Version)
	})
}
