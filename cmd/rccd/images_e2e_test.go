package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestE2EStartImages: an rccd executor process as by default, and one with
// --start-images=false, each the only executor of its own coordinator.
// Arena instances spawned one after another start from the module's image
// on the first, once the module's variant is compiled, and never on the
// second; each instance's "instance running" log line and the metric
// rcc_executor_instance_starts_total say which way it started.
func TestE2EStartImages(t *testing.T) {
	arena := arenaModule(t)
	for _, tc := range []struct {
		name  string
		flags []string
		image bool
	}{
		{"default", nil, true},
		{"off", []string{"--start-images=false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
			x := c.executor("ex-"+tc.name, tc.flags...)
			c.deploy("arena", arena)
			spawned := 0
			spawn := func() {
				in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
				c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
				spawned++
			}
			image := `rcc_executor_instance_starts_total{path="image"}`
			initialize := `rcc_executor_instance_starts_total{path="initialize"}`
			if tc.image {
				// The second start compiles the variant in its background: a
				// new instance every half second until one starts from the
				// image.
				spawn()
				last := time.Now()
				testenv.WaitFor(t, "an instance started from the image", 60*time.Second, func() bool {
					if time.Since(last) < time.Second/2 {
						return false
					}
					spawn()
					last = time.Now()
					return metricSum(t, x.metrics, image) > 0
				})
			} else {
				for range 3 {
					spawn()
				}
			}
			fromImage, initialized := metricSum(t, x.metrics, image), metricSum(t, x.metrics, initialize)
			if int(fromImage+initialized) != spawned {
				t.Errorf("%v starts from the image and %v initialized, for %d instances", fromImage, initialized, spawned)
			}
			if !tc.image && fromImage != 0 {
				t.Errorf("%v starts from the image with --start-images=false", fromImage)
			}
			t.Logf("%d instances: %v from the image, %v initialized", spawned, fromImage, initialized)
			// The log says the same, instance by instance.
			logged := map[string]int{}
			for _, line := range strings.Split(x.logs.String(), "\n") {
				var r map[string]any
				if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "instance running" {
					logged[r["start"].(string)]++
				}
			}
			if logged["image"] != int(fromImage) || logged["initialize"] != int(initialized) {
				t.Errorf("log lines %v, metric image %v, initialize %v", logged, fromImage, initialized)
			}
		})
	}
}
