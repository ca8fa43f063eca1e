// Package lifecyclepb is the one mapping between an instance's lifecycle
// state (pkg/lifecycle) and the gRPC API's InstanceState: the agent uses it
// to report the executor's states, the coordinator to serve the store's.
// It is the daemon's insides, not public API.
package lifecyclepb

import (
	"github.com/rcc-games/rcc/pkg/lifecycle"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

var toProto = map[lifecycle.State]rccv1.InstanceState{
	lifecycle.Pending:  rccv1.InstanceState_INSTANCE_STATE_PENDING,
	lifecycle.Starting: rccv1.InstanceState_INSTANCE_STATE_STARTING,
	lifecycle.Running:  rccv1.InstanceState_INSTANCE_STATE_RUNNING,
	lifecycle.Stopping: rccv1.InstanceState_INSTANCE_STATE_STOPPING,
	lifecycle.Stopped:  rccv1.InstanceState_INSTANCE_STATE_STOPPED,
	lifecycle.Failed:   rccv1.InstanceState_INSTANCE_STATE_FAILED,
	lifecycle.Lost:     rccv1.InstanceState_INSTANCE_STATE_LOST,
}

// StateToProto returns the API's spelling of s;
// INSTANCE_STATE_UNSPECIFIED for a state it does not know.
func StateToProto(s lifecycle.State) rccv1.InstanceState {
	return toProto[s] // the zero value is UNSPECIFIED
}

// StateFromProto returns the lifecycle state the API's s names; "" for
// INSTANCE_STATE_UNSPECIFIED or a value it does not know.
func StateFromProto(s rccv1.InstanceState) lifecycle.State {
	for k, v := range toProto {
		if v == s {
			return k
		}
	}
	return ""
}
