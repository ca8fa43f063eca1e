package render_test

import (
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render"
	"github.com/rcc-games/rcc/pkg/world"
)

// warmupFrames are rendered before BenchmarkFrame measures.
const warmupFrames = 10

// BenchmarkFrame renders demoscene.Crowd (every shape, a tenth of them
// translucent, a fifth labelled, all moving) at 1280×720 with the
// renderer's default multisampling (none on llvmpipe), as
// rcc-view's spectator camera first frames it, and reports the frame time
// percentiles (snapshot update, culling, instance upload, drawing and
// glFinish).
//
// With -benchshot DIR it writes the last frame of each size to
// DIR/frame-N.png, to look at what was measured.
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
			// Warm up: llvmpipe compiles its shader variants on first use,
			// a one-time cost that would otherwise be the p99 of a short
			// run. The first frame is reported on its own.
			first := time.Now()
			var firstFrame time.Duration
			for i := range warmupFrames {
				demoscene.Crowd(&snap, n, float64(i)/60)
				if err := gl.Render(&f, w, h); err != nil {
					b.Fatal(err)
				}
				gl.Finish()
				if i == 0 {
					firstFrame = time.Since(first)
				}
			}
			times := make([]time.Duration, 0, b.N)
			cpu0 := cpuTime()
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
			cpu := cpuTime() - cpu0
			if *benchShot != "" {
				writeShot(b, gl, filepath.Join(*benchShot, fmt.Sprintf("frame-%d.png", n)))
			}
			slices.Sort(times)
			ms := func(q float64) float64 {
				return float64(times[min(len(times)-1, int(q*float64(len(times))))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(firstFrame.Microseconds())/1000, "first-ms")
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(float64(gl.Stats().Drawn), "drawn")
			b.ReportMetric(float64(gl.Stats().Labels), "labels")
			// CPU time of the whole process (Go and llvmpipe's threads) per
			// frame: what the frame costs, less sensitive than wall time to
			// other work on the machine.
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/frame")
		})
	}
}

var benchShot = flag.String("benchshot", "", "write BenchmarkFrame's last frames as PNG files into this directory")

func writeShot(b *testing.B, r *render.Renderer, path string) {
	img, err := r.ReadImage()
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newBenchRenderer(b *testing.B) *render.Renderer {
	b.Helper()
	gltestContext(b)
	r, err := render.New(render.Options{Samples: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}
