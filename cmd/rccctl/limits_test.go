package main

import (
	"encoding/json"
	"strings"
	"testing"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestFormatLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits *rccv1.Limits
		want   string
	}{
		{"unset", nil, "default"},
		{"zero", &rccv1.Limits{}, "default"},
		{"frame and memory", &rccv1.Limits{FrameFuel: 20_000_000, MemoryLimitPages: 1024}, "fuel 20M/frame, 64 MiB"},
		{"all", &rccv1.Limits{InitFuel: 1_500_000_000, FrameFuel: 10_000_000_000, MemoryLimitPages: 16}, "init fuel 1.5G, fuel 10G/frame, 1 MiB"},
		{"small and odd", &rccv1.Limits{FrameFuel: 999, MemoryLimitPages: 20}, "fuel 999/frame, 20 pages"},
		{"thousands", &rccv1.Limits{InitFuel: 12_345}, "init fuel 12.345k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatLimits(tc.limits); got != tc.want {
				t.Errorf("formatLimits = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGameRunLimits(t *testing.T) {
	r := gameRun(t, exitFail, corpus+"recorder.wasm", "--ticks", "5", "--frame-fuel", "10")
	if r.ExitReason != "fuel_exhausted" || r.Ticks != 0 {
		t.Errorf("--frame-fuel 10: %+v, want fuel_exhausted on the first frame", r)
	}
	r = gameRun(t, exitFail, corpus+"recorder.wasm", "--ticks", "5", "--init-fuel", "10")
	if r.ExitReason != "fuel_exhausted" || !strings.Contains(r.Error, "init") {
		t.Errorf("--init-fuel 10: %+v, want fuel_exhausted at start", r)
	}
	r = gameRun(t, exitFail, corpus+"memory_bomb.wasm", "--ticks", "5", "--memory-mib", "1")
	if r.ExitReason != "out_of_memory" || !strings.Contains(r.Error, "of 16 pages") {
		t.Errorf("--memory-mib 1: %+v, want out_of_memory against 16 pages", r)
	}
	r = gameRun(t, exitOK, corpus+"recorder.wasm", "--ticks", "5", "--frame-fuel", "10000000000", "--init-fuel", "2000000000", "--memory-mib", "64")
	if r.Ticks != 5 {
		t.Errorf("large budgets: %+v, want 5 ticks", r)
	}
	arena := gameRun(t, exitOK, arenaModule(t), "--ticks", "60", "--players", "8")
	if arena.Ticks != 60 {
		t.Errorf("arena with the defaults: %+v", arena)
	}

	for _, bad := range [][]string{
		{"--memory-mib", "0"}, {"--memory-mib", "65"}, {"--memory-mib", "1.5"}, {"--memory-mib", "lots"},
		{"--frame-fuel", "-1"}, {"--init-fuel", "9223372036854775808"},
	} {
		code, _, errOut := rccctl(t, append([]string{"game", "run", corpus + "recorder.wasm"}, bad...)...)
		if code != exitUsage || errOut == "" {
			t.Errorf("game run %s: exit %d, stderr %q; want a usage error", strings.Join(bad, " "), code, errOut)
		}
	}
	if _, _, errOut := rccctl(t, "game", "run", corpus+"recorder.wasm", "--memory-mib", "65"); !strings.Contains(errOut, "whole number of MiB from 1 to 64") {
		t.Errorf("--memory-mib 65: stderr %q", errOut)
	}
}

// TestServerDeployLimits deploys with limits and reads them back.
func TestServerDeployLimits(t *testing.T) {
	addr, token := startCoordinator(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	conn := []string{"--addr", addr, "--token", token}
	cmd := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, append(args, conn...)...)
		if code != wantCode {
			t.Fatalf("rccctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	mod := corpus + "recorder.wasm"

	if out := cmd(0, "game", "deploy", mod, "--name", "rec"); !strings.Contains(out, "deployed rec version 1") || !strings.Contains(out, "limits default") {
		t.Fatalf("deploy: %s", out)
	}
	if out := cmd(0, "game", "deploy", mod, "--name", "rec", "--frame-fuel", "50000000", "--memory-mib", "16"); !strings.Contains(out, "deployed rec version 2") ||
		!strings.Contains(out, "limits fuel 50M/frame, 16 MiB") {
		t.Fatalf("deploy with limits: %s", out)
	}
	if out := cmd(0, "game", "deploy", mod, "--name", "rec", "--frame-fuel", "50000000", "--memory-mib", "16"); !strings.Contains(out, "rec version 2 unchanged") {
		t.Fatalf("same deploy: %s", out)
	}
	if out := cmd(1, "game", "deploy", mod, "--name", "rec", "--frame-fuel", "20000000000"); !strings.Contains(out, "frame_fuel 20000000000 is above the maximum of 10000000000") {
		t.Fatalf("frame fuel above the maximum: %s", out)
	}
	cmd(2, "game", "deploy", mod, "--name", "rec", "--memory-mib", "128")

	out := cmd(0, "game", "versions", "rec")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "LIMITS") || !strings.Contains(lines[1], "default") || !strings.Contains(lines[2], "fuel 50M/frame, 16 MiB") {
		t.Fatalf("game versions:\n%s", out)
	}
	var versions []struct {
		Version uint32 `json:"version"`
		Limits  struct {
			InitFuel         uint64 `json:"init_fuel"`
			FrameFuel        uint64 `json:"frame_fuel"`
			MemoryLimitBytes uint64 `json:"memory_limit_bytes"`
		} `json:"limits"`
	}
	if err := json.Unmarshal([]byte(cmd(0, "game", "versions", "rec", "--output", "json")), &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].Limits.FrameFuel != 0 || versions[1].Limits.FrameFuel != 50_000_000 ||
		versions[1].Limits.InitFuel != 0 || versions[1].Limits.MemoryLimitBytes != 16<<20 {
		t.Fatalf("game versions json: %+v", versions)
	}
}
