package lifecyclepb

import (
	"testing"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestStateMapping(t *testing.T) {
	tests := []struct {
		state lifecycle.State
		proto rccv1.InstanceState
	}{
		{lifecycle.Pending, rccv1.InstanceState_INSTANCE_STATE_PENDING},
		{lifecycle.Starting, rccv1.InstanceState_INSTANCE_STATE_STARTING},
		{lifecycle.Running, rccv1.InstanceState_INSTANCE_STATE_RUNNING},
		{lifecycle.Stopping, rccv1.InstanceState_INSTANCE_STATE_STOPPING},
		{lifecycle.Stopped, rccv1.InstanceState_INSTANCE_STATE_STOPPED},
		{lifecycle.Failed, rccv1.InstanceState_INSTANCE_STATE_FAILED},
		{lifecycle.Lost, rccv1.InstanceState_INSTANCE_STATE_LOST},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			if got := StateToProto(tt.state); got != tt.proto {
				t.Errorf("StateToProto(%q) = %v, want %v", tt.state, got, tt.proto)
			}
			if got := StateFromProto(tt.proto); got != tt.state {
				t.Errorf("StateFromProto(%v) = %q, want %q", tt.proto, got, tt.state)
			}
		})
	}
	if len(tests) != len(lifecycle.States) {
		t.Errorf("the table covers %d states, lifecycle has %d", len(tests), len(lifecycle.States))
	}
	// Every API value but UNSPECIFIED names a state: a value added to the
	// proto without a lifecycle state fails here.
	for v, name := range rccv1.InstanceState_name {
		s := rccv1.InstanceState(v)
		if s == rccv1.InstanceState_INSTANCE_STATE_UNSPECIFIED {
			continue
		}
		if StateFromProto(s) == "" {
			t.Errorf("%s has no lifecycle state", name)
		}
	}
}

func TestStateMappingUnknown(t *testing.T) {
	if got := StateToProto("sleeping"); got != rccv1.InstanceState_INSTANCE_STATE_UNSPECIFIED {
		t.Errorf("StateToProto(sleeping) = %v, want UNSPECIFIED", got)
	}
	if got := StateToProto(""); got != rccv1.InstanceState_INSTANCE_STATE_UNSPECIFIED {
		t.Errorf("StateToProto(\"\") = %v, want UNSPECIFIED", got)
	}
	if got := StateFromProto(rccv1.InstanceState_INSTANCE_STATE_UNSPECIFIED); got != "" {
		t.Errorf("StateFromProto(UNSPECIFIED) = %q, want \"\"", got)
	}
	if got := StateFromProto(rccv1.InstanceState(99)); got != "" {
		t.Errorf("StateFromProto(99) = %q, want \"\"", got)
	}
}
