package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// deltaReader reconstructs the states a client on deltas receives.
type deltaReader struct {
	t    testing.TB
	dec  *protocol.DeltaDecoder
	base []byte
	at   uint64 // frame of base
	keys int    // keyframes received
}

func newDeltaReader(t testing.TB) *deltaReader {
	dec, err := protocol.NewDeltaDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return &deltaReader{t: t, dec: dec}
}

// take applies a Delta frame and returns its frame and state bytes.
func (r *deltaReader) take(d *protocol.Delta) (uint64, []byte) {
	r.t.Helper()
	if !d.Keyframe() && d.Base != r.at {
		r.t.Fatalf("delta of frame %d on base %d, the client holds %d", d.Frame, d.Base, r.at)
	}
	if d.Keyframe() {
		r.keys++
	}
	st, err := r.dec.Apply(nil, d, r.base)
	if err != nil {
		r.t.Fatalf("frame %d: %v", d.Frame, err)
	}
	r.base, r.at = st, d.Frame
	return d.Frame, st
}

// nextState reads frames until a state and returns it, reconstructed
// when it came as a delta.
func (c *client) nextAnyState(r *deltaReader) (uint64, []byte, protocol.Type) {
	c.t.Helper()
	for {
		switch f := c.next().(type) {
		case *protocol.State:
			if r != nil {
				r.base, r.at = bytes.Clone(f.Data), f.Frame
			}
			return f.Frame, bytes.Clone(f.Data), protocol.TypeState
		case *protocol.Delta:
			if r == nil {
				c.t.Fatal("a delta frame to a client that did not ask for deltas")
			}
			n, st := r.take(f)
			return n, st, protocol.TypeDelta
		}
	}
}

func withKeyframeInterval(n int) harnessOption {
	return func(c *Config, _ *httptestServer) { c.KeyframeInterval = n }
}

// TestDeltaAndFullClients: a client that asks for deltas and one that
// does not see the same state bytes at every frame, at the instance's
// snapshot rate; the first delta is a keyframe and keyframes come again
// at the configured interval; the full client's welcome and frames are
// those of a client of protocol version 1 with no deltas.
func TestDeltaAndFullClients(t *testing.T) { sendPaths(t, testDeltaAndFullClients) }

func testDeltaAndFullClients(t *testing.T, path harnessOption) {
	h := newHarness(t, withKeyframeInterval(4), path)
	h.start(InstanceSpec{ID: "arena", Game: "arena", Module: arenaModule(t), MaxPlayers: 4, TickHz: 60, SnapshotHz: 20})
	h.run()
	full, fw := h.join("full", "arena")
	dc := h.dialURL(h.url("arena", h.ticket("delta", "arena"))+"&"+protocol.DeltaQuery+"="+protocol.DeltaZstd, nil)
	dw, ok := dc.next().(*protocol.Welcome)
	if !ok {
		t.Fatal("the delta client's first frame is not a welcome")
	}
	if fw.Delta || fw.SnapshotHz != 0 {
		t.Errorf("full client's welcome: delta %v, snapshot rate %d; want neither", fw.Delta, fw.SnapshotHz)
	}
	if !dw.Delta || dw.SnapshotHz != 20 || dw.TickHz != 60 {
		t.Errorf("delta client's welcome: delta %v, snapshot rate %d, tick rate %d; want true, 20, 60", dw.Delta, dw.SnapshotHz, dw.TickHz)
	}

	fullStates := map[uint64][]byte{}
	var last uint64
	for range 40 {
		n, st, typ := full.nextAnyState(nil)
		if typ != protocol.TypeState {
			t.Fatalf("full client got %v", typ)
		}
		if last != 0 && n != last+3 {
			t.Errorf("full client: frame %d after %d, want every third tick (20 of 60 Hz)", n, last)
		}
		fullStates[n], last = st, n
	}
	r := newDeltaReader(t)
	compared, deltas := 0, 0
	for i := range 30 {
		n, st, typ := dc.nextAnyState(r)
		if i == 0 && (typ != protocol.TypeDelta || r.keys != 1) {
			t.Fatal("the first state on deltas is not a keyframe")
		}
		if want, ok := fullStates[n]; ok {
			compared++
			if !bytes.Equal(st, want) {
				t.Fatalf("frame %d: the delta client reconstructed %d bytes that differ from the full client's %d", n, len(st), len(want))
			}
		}
		if typ == protocol.TypeDelta {
			deltas++
		}
	}
	if compared < 20 {
		t.Errorf("only %d frames seen by both clients", compared)
	}
	// Keyframes: the first, then one after every 4 deltas.
	if r.keys < 30/5 || deltas < 20 {
		t.Errorf("%d keyframes and %d deltas in 30 states, want about 6 and 24", r.keys, deltas)
	}
	fams := h.scrape()
	if v, _ := metricValue(fams, "rcc_executor_state_frames_sent_total", "kind", "delta"); v == 0 {
		t.Error("no delta counted in rcc_executor_state_frames_sent_total")
	}
}

// TestDefaultSnapshotRate: with no snapshot rate set, a client on deltas
// is told DefaultSnapshotHz and gets every other state of a 60 Hz
// instance, each reconstructing the full client's state of that frame,
// while a client on State frames (which cannot be told a rate) still gets
// every tick; a rate at the tick rate gives the delta client every tick.
func TestDefaultSnapshotRate(t *testing.T) {
	h := newHarness(t)
	h.start(InstanceSpec{ID: "default", Game: "arena", Module: arenaModule(t), MaxPlayers: 4, TickHz: 60})
	h.start(InstanceSpec{ID: "every", Game: "arena", Module: arenaModule(t), MaxPlayers: 4, TickHz: 60, SnapshotHz: 60})
	h.run()
	dial := func(inst, player string) *client {
		c := h.dialURL(h.url(inst, h.ticket(player, inst))+"&"+protocol.DeltaQuery+"="+protocol.DeltaZstd, nil)
		w, ok := c.next().(*protocol.Welcome)
		if !ok || !w.Delta {
			t.Fatalf("%s: no welcome granting deltas", inst)
		}
		want := map[string]uint16{"default": DefaultSnapshotHz, "every": 60}[inst]
		if w.SnapshotHz != want {
			t.Errorf("%s: welcome says %d Hz, want %d", inst, w.SnapshotHz, want)
		}
		return c
	}
	full, _ := h.join("full", "default")
	dc := dial("default", "delta")
	ec := dial("every", "delta")

	fullStates := map[uint64][]byte{}
	var last uint64
	for range 40 {
		n, st, _ := full.nextAnyState(nil)
		if last != 0 && n != last+1 {
			t.Errorf("full client: frame %d after %d, want every tick", n, last)
		}
		fullStates[n], last = st, n
	}
	steps := func(c *client, name string, want uint64, compare bool) {
		t.Helper()
		r := newDeltaReader(t)
		var last uint64
		compared := 0
		for range 20 {
			n, st, _ := c.nextAnyState(r)
			if last != 0 && n != last+want {
				t.Errorf("%s: frame %d after %d, want a step of %d", name, n, last, want)
			}
			last = n
			if f, ok := fullStates[n]; ok && compare {
				compared++
				if !bytes.Equal(st, f) {
					t.Fatalf("%s: frame %d reconstructs other bytes than the full client's", name, n)
				}
			}
		}
		if compare && compared < 10 {
			t.Errorf("%s: only %d frames seen by both clients", name, compared)
		}
	}
	steps(dc, "default rate", 60/DefaultSnapshotHz, true)
	steps(ec, "every tick", 1, false)
}

// TestDeltaAfterDrops: a client on deltas that stops reading has states
// dropped; when it reads again, the next state is a keyframe (its base is
// gone) and every state reconstructs.
func TestDeltaAfterDrops(t *testing.T) { sendPaths(t, testDeltaAfterDrops) }

func testDeltaAfterDrops(t *testing.T, path harnessOption) {
	h := newHarness(t, smallBuffers, path)
	// A state every tick, so that a gap in the frame numbers is a drop.
	h.start(InstanceSpec{ID: "arena", Game: "arena", Module: arenaModule(t), MaxPlayers: 4, TickHz: 60, SnapshotHz: 60})
	h.run()
	c := h.dialURL(h.url("arena", h.ticket("slow", "arena"))+"&delta=zstd", smallReadDialer)
	if w, ok := c.next().(*protocol.Welcome); !ok || !w.Delta {
		t.Fatal("no welcome granting deltas")
	}
	r := newDeltaReader(t)
	c.nextAnyState(r)
	testenv.WaitFor(t, "states dropped for the client that does not read", 20*time.Second, func() bool {
		v, _ := metricValue(h.scrape(), "rcc_executor_state_frames_dropped_total")
		return v > 0
	})
	// The states written before the drops come first; the first one after
	// the gap must be a keyframe.
	prev := r.at
	for range 600 {
		keys := r.keys
		n, _, _ := c.nextAnyState(r)
		if n > prev+1 {
			if r.keys != keys+1 {
				t.Fatalf("frame %d after %d came as a delta on %d, not a keyframe", n, prev, prev)
			}
			return
		}
		prev = n
	}
	t.Error("no gap in 600 frames after the drops")
}

// TestDeltaNeverLarger: for states so small that a delta frame would be
// larger than the state frame (the recorder's few bytes), a client on
// deltas gets the state frames, and reads every state.
func TestDeltaNeverLarger(t *testing.T) {
	h := newHarness(t)
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(t, "recorder"), MaxPlayers: 2})
	h.run()
	c := h.dialURL(h.url("rec", h.ticket("a", "rec"))+"&delta=zstd", nil)
	if w, ok := c.next().(*protocol.Welcome); !ok || !w.Delta {
		t.Fatal("no welcome granting deltas")
	}
	r := newDeltaReader(t)
	full := 0
	for range 20 {
		if _, _, typ := c.nextAnyState(r); typ == protocol.TypeState {
			full++
		}
	}
	if full < 19 { // the first state, with the init record, may compress
		t.Errorf("%d of 20 tiny states came whole; want the state frame, smaller than a delta", full)
	}
}

// TestForeignClientOnFullStates: a client in another language (Python's
// standard library, testdata/fullclient.py) that does not ask for deltas
// plays as before while a client on deltas shares its instance: the
// welcome of protocol version 1 with no new flag or field, then state
// frames only, every tick.
func TestForeignClientOnFullStates(t *testing.T) {
	py := testenv.MustHaveCommand(t, "python3", "apt-get install python3")
	h := newHarness(t)
	h.start(InstanceSpec{ID: "arena", Game: "arena", Module: arenaModule(t), MaxPlayers: 4})
	h.run()
	dc := h.dialURL(h.url("arena", h.ticket("go", "arena"))+"&delta=zstd", nil)
	if w, ok := dc.next().(*protocol.Welcome); !ok || !w.Delta {
		t.Fatal("the Go client was not granted deltas")
	}
	go func() { // keep the delta client read, so that it is not dropped
		for {
			if _, _, err := dc.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, filepath.Join("testdata", "fullclient.py"), h.url("arena", h.ticket("py", "arena")), "60").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("fullclient.py: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got struct {
		Welcome struct {
			Version, Flags, Trailing int
			TickHz                   int `json:"tick_hz"`
			Player                   string
		}
		Types  map[string]int
		Frames []uint64
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	w := got.Welcome
	if w.Version != 1 || w.Flags != 0 || w.TickHz != 60 || w.Player != "py" || w.Trailing != 0 {
		t.Errorf("welcome %+v, want version 1, no flags, 60 Hz, player py, no trailing bytes", w)
	}
	if got.Types["0x14"] != 0 || len(got.Frames) != 60 {
		t.Errorf("frame types %v, %d states", got.Types, len(got.Frames))
	}
	for i := 1; i < len(got.Frames); i++ {
		if got.Frames[i] != got.Frames[i-1]+1 {
			t.Errorf("frame %d after %d: want every tick", got.Frames[i], got.Frames[i-1])
			break
		}
	}
}
