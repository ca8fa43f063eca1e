package render_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render"
	"github.com/rcc-games/rcc/pkg/world"
)

// BenchmarkFrame renders demoscene.Crowd (every shape, a tenth of them
// translucent, a fifth labelled, all moving) at 1280×720 with 4× MSAA, as
// rcc-view's spectator camera first frames it, and reports the frame time
// percentiles (snapshot update, culling, instance upload, drawing and
// glFinish).
func BenchmarkFrame(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			gl := newBenchRenderer(b)
			const w, h = 1280, 720
			var snap world.Snapshot
			demoscene.Crowd(&snap, n, 0)
			cam := camera.New()
			side := demoscene.CrowdSide(n)
			cam.Frame(geom.Vec3{X: -side / 2, Z: -side / 2}, geom.Vec3{X: side / 2, Y: 1, Z: side / 2}, float32(w)/h)
			f := render.Frame{Snapshot: &snap, Camera: cam, Lines: []string{"benchmark", "60 fps"}}
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				demoscene.Crowd(&snap, n, float64(i)/60)
				if err := gl.Render(&f, w, h); err != nil {
					b.Fatal(err)
				}
				gl.Finish()
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(times)
			ms := func(q float64) float64 {
				return float64(times[min(len(times)-1, int(q*float64(len(times))))].Microseconds()) / 1000
			}
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(float64(gl.Stats().Drawn), "drawn")
		})
	}
}

func newBenchRenderer(b *testing.B) *render.Renderer {
	b.Helper()
	gltestContext(b)
	r, err := render.New(render.Options{Samples: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}
