package executor

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// TestImageStartedInstanceMigrates starts an instance from its module's
// image (a first instance of the module having taken it), checks that the
// metric counts it, and moves it to another executor while its player
// sends inputs: every input is counted, on the target, once.
func TestImageStartedInstanceMigrates(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("images are mapped from a memfd, which %s lacks", runtime.GOOS)
	}
	ctx := context.Background()
	a, b := pair(t)
	module := testModule(t, "counter")
	a.start(InstanceSpec{ID: "first", Game: "counter", Version: "1", Module: module})
	m, err := a.ex.engine.Compile(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.PrepareImage(ctx, wasmhost.InstanceConfig{Game: "counter"}); err != nil {
		t.Fatal(err)
	}
	a.start(InstanceSpec{ID: "mig", Game: "counter", Version: "1", Module: module})
	a.ex.mu.Lock()
	w := a.ex.instances["mig"].live.Load()
	a.ex.mu.Unlock()
	if w == nil || !w.FromImage() {
		t.Fatal("the second instance did not start from the image")
	}
	fams := a.scrape()
	if v, _ := metricValue(fams, "rcc_executor_instance_starts_total", "path", "image"); v != 1 {
		t.Errorf("rcc_executor_instance_starts_total{path=image} = %v, want 1", v)
	}
	if v, _ := metricValue(fams, "rcc_executor_instance_starts_total", "path", "initialize"); v != 1 {
		t.Errorf("rcc_executor_instance_starts_total{path=initialize} = %v, want 1", v)
	}

	s, err := play.Connect(ctx, a.url("mig", a.ticket("a", "mig")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const inputs = 60
	sent := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / 60)
		defer tick.Stop()
		for i := range inputs {
			<-tick.C
			if err := s.Send(binary.LittleEndian.AppendUint16(nil, uint16(i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	testenv.WaitFor(t, "20 frames on the source", 10*time.Second, func() bool {
		st, _ := a.ex.Instance("mig")
		return st.Frames >= 20
	})
	if _, err := a.ex.Migrate(ctx, "mig", a.target(b)); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("send: %v", err)
	}
	testenv.WaitFor(t, "every input counted on the target", 10*time.Second, func() bool {
		_, state := s.LastState(nil)
		return len(state) == 2048 && binary.LittleEndian.Uint32(state[4*'a':]) == inputs
	})
	if on, err := b.ex.Instance("mig"); err != nil || on.State != StateRunning {
		t.Errorf("target: %+v, %v; want running", on, err)
	}
}
