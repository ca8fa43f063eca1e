// Package probe is a hostile battery against a running coordinator and
// its executors: each Case does what an attacker or a careless client
// would (oversized inputs, unauthenticated floods, bogus uploads) and
// fails its test when a defence does not hold. cmd/rccd's TestProbe runs
// it against real rccd processes in make test.
//
// To add a probe, append a Case to Cases: a name and a function of the
// Target. A case must leave the target as it found it for the cases after
// it (stop what it spawns, undrain what it drains) and stay quick: the
// whole battery runs in well under a minute.
//
// The package is test support, not a public API.
package probe

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
)

// Target is what the probes attack.
type Target struct {
	// Addr is the coordinator's gRPC address.
	Addr string
	// Admin is a client with AdminToken, an admin token.
	Admin      *client.Client
	AdminToken string
	// CoordinatorPID is the coordinator process, whose memory the probes
	// watch (from /proc/PID/status).
	CoordinatorPID int
	// Game is a deployed game whose instances the probes may spawn.
	Game string
	// Module is a valid module the probes may deploy under names of their
	// own.
	Module []byte
	// ExecutorID is a live executor's id.
	ExecutorID string
}

// Case is one probe.
type Case struct {
	Name string
	Run  func(t *testing.T, tg *Target)
}

// Run runs every case of Cases as a subtest of t, in order.
func Run(t *testing.T, tg *Target) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, tg) })
	}
}

// timeout bounds each call of a probe.
const timeout = 60 * time.Second

// ctx is a call's context, ended with the test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

// wantCode fails t unless err is a status of code whose message holds
// want.
func wantCode(t *testing.T, what string, err error, code codes.Code, want string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: %v; want %s containing %q", what, err, code, want)
	}
}

// RSS is the resident memory of process pid, in bytes (VmRSS of
// /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("read rss: VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("read rss: no VmRSS in /proc/%d/status", pid)
}

// memoryBound runs fn and fails t if the coordinator's resident memory
// has grown by more than limit bytes by the end. It logs both figures.
func memoryBound(t *testing.T, tg *Target, limit int64, fn func()) {
	t.Helper()
	before, err := RSS(tg.CoordinatorPID)
	if err != nil {
		t.Fatal(err)
	}
	fn()
	after, err := RSS(tg.CoordinatorPID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("coordinator RSS %.1f MB before, %.1f MB after", float64(before)/1e6, float64(after)/1e6)
	if after-before > limit {
		t.Fatalf("coordinator RSS grew by %.1f MB (from %.1f to %.1f MB), the bound is %.1f MB",
			float64(after-before)/1e6, float64(before)/1e6, float64(after)/1e6, float64(limit)/1e6)
	}
}
