//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestDataDirInUse: a second rccd dev, or an rccd executor, on the data dir
// of a live rccd dev refuses to start and names the holder; once the holder
// is killed (SIGKILL: its lock file stays behind) the data dir is free.
func TestDataDirInUse(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir(), "RCC_ADDR=", "RCC_TOKEN="}
	dev := func(name string) *proc {
		return startProc(t, name, env, "dev", "--data-dir", data, "--grpc-addr", "127.0.0.1:0", "--ws-addr", "127.0.0.1:0",
			"--metrics-addr", "", "--coordinator-metrics-addr", "", "--no-credentials")
	}
	first := dev("first rccd dev")
	first.logLine("rccd dev started")
	pid := strconv.Itoa(first.cmd.Process.Pid)

	refused := func(p *proc) {
		t.Helper()
		testenv.WaitFor(t, p.name+" to exit", 30*time.Second, p.exited)
		logs := p.logs.String()
		if p.cmd.ProcessState.ExitCode() != exitFail || !strings.Contains(logs, data+" is used by rccd pid "+pid) ||
			!strings.Contains(logs, "pass another --data-dir") {
			t.Fatalf("%s: exit %d, want %d with a message naming pid %s:\n%s", p.name, p.cmd.ProcessState.ExitCode(), exitFail, pid, logs)
		}
	}
	refused(dev("second rccd dev"))
	refused(startProc(t, "rccd executor", []string{"RCC_EXECUTOR_TOKEN=t"}, "executor", "--coordinator", "127.0.0.1:1",
		"--ws-addr", "127.0.0.1:0", "--metrics-addr", "", "--data-dir", data))
	if first.exited() {
		t.Fatalf("the first rccd dev exited: %v", first.status)
	}

	first.kill9()
	if _, err := os.Stat(filepath.Join(data, dataDirLockFile)); err != nil {
		t.Fatalf("lock file after SIGKILL: %v", err)
	}
	again := dev("rccd dev after the first was killed")
	again.logLine("rccd dev started")
}
