package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestPrintInstanceStats(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := func() *rccv1.Instance {
		return &rccv1.Instance{Id: "i-1", Game: "arena", Version: 2, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING,
			ExecutorId: "x-1", WsUrl: "ws://x/play", MaxPlayers: 8, Players: 3, LeaseSeconds: 600,
			LeaseExpiresAt: timestamppb.New(now.Add(5 * time.Minute)), CreatedAt: timestamppb.New(now.Add(-time.Minute))}
	}
	withStats := base()
	withStats.Stats = &rccv1.InstanceStats{TickP50Ms: 0.42, TickP99Ms: 3.5, MemoryBytes: 3 << 20, FuelP50: 1_500_000,
		FuelMax: 20_000_000, Frames: 3600, Overruns: 2, ReportedAt: timestamppb.New(now.Add(-2 * time.Second))}
	tests := []struct {
		name    string
		in      *rccv1.Instance
		want    []string
		notWant []string
	}{
		{"reported", withStats, []string{
			"tick  ", "p50 0.42 ms, p99 3.50 ms",
			"memory", "3.0 MiB",
			"fuel", "p50 1.5M, max 20M per frame",
			"frames", "3600 (2 overruns)",
			"reported", "2s ago",
		}, nil},
		{"not reported", base(), nil, []string{"tick", "memory", "fuel", "reported"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			_ = writeInstance(&b, tc.in, now)
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}

	var m map[string]any
	b, err := json.Marshal(instanceJSON(withStats, now))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	st, _ := m["stats"].(map[string]any)
	if st == nil || st["tick_p99_ms"] != 3.5 || st["reported_at"] == nil {
		t.Fatalf("json stats = %v", m["stats"])
	}
}
