package coordinatortest

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// BigSpawn is a spawn of game at the input limits: coordinator.MaxLabels
// labels of the longest names and values, unique to n, and 60 KiB of
// params; its instance is some 70 KB on the wire.
func BigSpawn(game string, n int) *rccv1.SpawnRequest {
	labels := map[string]string{}
	for i := range coordinator.MaxLabels {
		k := fmt.Sprintf("k%02d-%d-", i, n)
		labels[k+strings.Repeat("k", coordinator.MaxLabelName-len(k))] = strings.Repeat("v", coordinator.MaxLabelName)
	}
	params := &structpb.Struct{Fields: map[string]*structpb.Value{"blob": structpb.NewStringValue(strings.Repeat("p", 60<<10))}}
	return &rccv1.SpawnRequest{Game: game, Labels: labels, Params: params, LeaseSeconds: 3600}
}
