package main

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestInstanceJSONStats checks the live figures of an instance under
// --output json; the table with and without them is in TestTableGolden
// (instance_get, instance_get_pending).
func TestInstanceJSONStats(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	withStats := &rccv1.Instance{Id: "i-1", Game: "arena", Version: 2, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING,
		ExecutorId: "x-1", WsUrl: "ws://x/play", MaxPlayers: 8, Players: 3, LeaseSeconds: 600,
		LeaseExpiresAt: timestamppb.New(now.Add(5 * time.Minute)), CreatedAt: timestamppb.New(now.Add(-time.Minute)),
		Stats: &rccv1.InstanceStats{TickP50Ms: 0.42, TickP99Ms: 3.5, MemoryBytes: 3 << 20, FuelP50: 1_500_000,
			FuelMax: 20_000_000, Frames: 3600, Overruns: 2, ReportedAt: timestamppb.New(now.Add(-2 * time.Second))}}
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
