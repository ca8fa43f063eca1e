package play

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/rcc-games/rcc/pkg/world"
)

// Defaults of BufferConfig.
const (
	DefaultIntervals        = 2
	DefaultMaxDelay         = 500 * time.Millisecond
	DefaultMaxExtrapolation = 100 * time.Millisecond
	DefaultMaxSpeed         = 60 // m/s
	DefaultCapacity         = 64
	DefaultTickHz           = 60
)

// Tuning of the render clock.
const (
	// catchup is the largest change of the render clock's rate while it
	// steers towards its target: ±10 %.
	catchup = 0.10
	// steerTime is the time over which an error of the render clock is
	// corrected (before the rate clamp).
	steerTime = 0.5 // seconds
	// snapAhead is the smallest lag behind the target (in seconds) at
	// which the render clock jumps forward instead of speeding up.
	snapAhead = 0.25
	// window is the number of arrivals the interval and jitter are
	// measured over.
	window = 120
)

// BufferConfig tunes a Buffer. The zero value takes every default.
type BufferConfig struct {
	// TickHz is the instance's tick rate, which turns frame numbers into
	// server time (default 60; a Session sets it from the welcome).
	TickHz int
	// Intervals is the interpolation delay in measured snapshot intervals,
	// before the jitter allowance (default 2).
	Intervals float64
	// MinDelay and MaxDelay bound the interpolation delay (defaults 0 and
	// 500 ms).
	MinDelay, MaxDelay time.Duration
	// MaxExtrapolation is how far past the newest snapshot positions are
	// extrapolated when a state is late (default 100 ms; negative: never).
	// Past it, entities hold their extrapolated pose.
	MaxExtrapolation time.Duration
	// MaxSpeed is the fastest plausible speed of an entity, in m/s
	// (default 60): an entity that moved further than that between two
	// snapshots teleported, and is drawn at one pose or the other, never
	// between.
	MaxSpeed float32
	// Capacity is the number of snapshots kept (default 64, at least 2).
	Capacity int
}

func (c BufferConfig) withDefaults() BufferConfig {
	if c.TickHz <= 0 {
		c.TickHz = DefaultTickHz
	}
	if c.Intervals <= 0 {
		c.Intervals = DefaultIntervals
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	c.MinDelay = min(max(c.MinDelay, 0), c.MaxDelay)
	if c.MaxExtrapolation == 0 {
		c.MaxExtrapolation = DefaultMaxExtrapolation
	}
	c.MaxExtrapolation = max(c.MaxExtrapolation, 0)
	if c.MaxSpeed <= 0 {
		c.MaxSpeed = DefaultMaxSpeed
	}
	if c.Capacity <= 0 {
		c.Capacity = DefaultCapacity
	}
	c.Capacity = max(c.Capacity, 2)
	return c
}

// Sample is what a Buffer hands the renderer for one render time: two
// snapshots and the blend factor between them.
type Sample struct {
	// From and To are the snapshots to blend, From the older; they are the
	// same snapshot when only one applies (before the second snapshot,
	// or while the render time is before the oldest one). Both are nil
	// when the buffer is empty. They are read-only and stay valid until
	// the next Add or Reset.
	From, To *world.Snapshot
	// FromFrame and ToFrame are their frame numbers.
	FromFrame, ToFrame uint64
	// Alpha is the blend factor: 0 is From, 1 is To, above 1 extrapolates
	// past To (a late state), never further than MaxExtrapolation.
	Alpha float64
	// Time is the render time in server time (frame number / tick rate),
	// never less than that of an earlier Sample.
	Time time.Duration
	// Delay is the interpolation delay in force: how far the render time
	// is behind the newest server time estimated to have been sent.
	Delay time.Duration
	// Extrapolated is how far past To the render time is (0 when
	// interpolating).
	Extrapolated time.Duration
}

// BufferStats are a Buffer's measurements.
type BufferStats struct {
	// Snapshots is the number of snapshots held.
	Snapshots int
	// Interval is the measured time between two snapshot arrivals (the
	// tick period before two arrivals), Jitter the mean lateness of an
	// arrival behind the earliest one, Delay the interpolation delay they
	// give.
	Interval, Jitter, Delay time.Duration
	// Newest is the frame number of the newest snapshot held.
	Newest uint64
	// Refused counts snapshots Add refused: duplicates and snapshots
	// older than the render time.
	Refused uint64
}

// entry is one snapshot held by a Buffer.
type entry struct {
	frame uint64
	t     float64 // server time in seconds
	snap  *world.Snapshot
}

// arrival is one snapshot's arrival, for the measurements.
type arrival struct {
	at     float64 // seconds since the buffer's epoch
	offset float64 // at minus the snapshot's server time
}

// Buffer is a jitter-tolerant snapshot buffer: Add puts snapshots in as
// they arrive (late, reordered or with gaps), Sample tells the renderer
// which two to blend for a render time, and Render blends them into a
// snapshot of its own.
//
// The render time runs behind the newest snapshot by an interpolation
// delay of Intervals measured arrival intervals plus twice the mean
// lateness of arrivals (the jitter), so that the next snapshot has usually
// arrived when the render time reaches it. The render clock follows the
// arrivals smoothly: it runs up to 10 % fast or slow to absorb a change of
// the delay or of the clock offset, jumps forward only when far behind
// (at start, after a long stall), and never goes back. When the newest
// snapshot is late, positions are extrapolated along their last motion
// for at most MaxExtrapolation.
//
// Times are arguments, never read from a clock, so a Buffer is
// deterministic under test. A Buffer is safe for concurrent use: one
// goroutine may Add while another renders.
type Buffer struct {
	mu      sync.Mutex
	cfg     BufferConfig
	step    float64 // seconds per frame
	entries []entry // sorted by frame
	spare   []*world.Snapshot

	epoch    time.Time
	arrivals [window]arrival
	nArr     int // arrivals recorded, up to window
	next     int // next slot of arrivals
	refused  uint64

	started  bool
	rt       float64 // render time, server seconds
	lastNow  float64 // seconds since epoch of the last Sample
	lastFrom uint64  // frame of the last Sample's From

	blend blender
}

// NewBuffer returns an empty buffer.
func NewBuffer(cfg BufferConfig) *Buffer {
	cfg = cfg.withDefaults()
	b := &Buffer{cfg: cfg}
	b.step = 1 / float64(cfg.TickHz)
	return b
}

// setTickHz changes the tick rate of an empty buffer.
func (b *Buffer) setTickHz(hz int) {
	if hz <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg.TickHz = hz
	b.step = 1 / float64(hz)
}

// Reset empties the buffer and restarts its clock and measurements (for a
// new instance, whose frame numbers start again).
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.entries {
		b.recycle(e.snap)
	}
	clear(b.entries)
	b.entries = b.entries[:0]
	b.nArr, b.next, b.started, b.lastFrom = 0, 0, false, 0
	b.epoch = time.Time{}
}

// Spare returns a snapshot to decode the next state into: one the buffer
// no longer holds, or a new one. Passing it to Add hands it back.
func (b *Buffer) Spare() *world.Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.spare); n > 0 {
		s := b.spare[n-1]
		b.spare = b.spare[:n-1]
		return s
	}
	return new(world.Snapshot)
}

// putSpare takes back a snapshot from Spare that was not added.
func (b *Buffer) putSpare(s *world.Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recycle(s)
}

func (b *Buffer) recycle(s *world.Snapshot) {
	if len(b.spare) < 4 {
		b.spare = append(b.spare, s)
	}
}

// Add puts the snapshot of frame in the buffer, arrived at the given time;
// the buffer owns snap from then on. It reports false, and keeps nothing,
// for a frame it holds already or one older than the render time has
// reached (a reordered state that came too late to matter).
func (b *Buffer) Add(frame uint64, snap *world.Snapshot, arrived time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.epoch.IsZero() {
		b.epoch = arrived
	}
	t := float64(frame) * b.step
	at := arrived.Sub(b.epoch).Seconds()
	i, found := slices.BinarySearchFunc(b.entries, frame, func(e entry, f uint64) int {
		switch {
		case e.frame < f:
			return -1
		case e.frame > f:
			return 1
		}
		return 0
	})
	if found || (b.started && frame < b.lastFrom) {
		b.refused++
		b.recycle(snap)
		return false
	}
	b.arrivals[b.next] = arrival{at: at, offset: at - t}
	b.next = (b.next + 1) % window
	b.nArr = min(b.nArr+1, window)

	b.entries = slices.Insert(b.entries, i, entry{frame: frame, t: t, snap: snap})
	// Keep Capacity snapshots, but never drop the one being rendered from.
	for len(b.entries) > b.cfg.Capacity && (!b.started || b.entries[0].frame < b.lastFrom) {
		b.recycle(b.entries[0].snap)
		b.entries = slices.Delete(b.entries, 0, 1)
	}
	return true
}

// measure returns the arrival interval, the jitter and the smallest
// clock offset, in seconds.
func (b *Buffer) measure() (interval, jitter, base float64) {
	if b.nArr == 0 {
		return b.step, 0, 0
	}
	first, last := math.Inf(1), math.Inf(-1)
	base = math.Inf(1)
	for _, a := range b.arrivals[:b.nArr] {
		first, last = min(first, a.at), max(last, a.at)
		base = min(base, a.offset)
	}
	interval = b.step
	if b.nArr >= 2 && last > first {
		interval = (last - first) / float64(b.nArr-1)
	}
	sum := 0.0
	for _, a := range b.arrivals[:b.nArr] {
		sum += a.offset - base
	}
	return interval, sum / float64(b.nArr), base
}

func (b *Buffer) delay(interval, jitter float64) float64 {
	d := b.cfg.Intervals*interval + 2*jitter
	return min(max(d, b.cfg.MinDelay.Seconds()), b.cfg.MaxDelay.Seconds())
}

// Stats returns the buffer's measurements.
func (b *Buffer) Stats() BufferStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	interval, jitter, _ := b.measure()
	s := BufferStats{Snapshots: len(b.entries), Refused: b.refused,
		Interval: seconds(interval), Jitter: seconds(jitter), Delay: seconds(b.delay(interval, jitter))}
	if n := len(b.entries); n > 0 {
		s.Newest = b.entries[n-1].frame
	}
	return s
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Sample returns the two snapshots to blend and the blend factor for a
// render at now. The render time it reports never decreases, even when
// now does.
func (b *Buffer) Sample(now time.Time) Sample {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sample(now)
}

func (b *Buffer) sample(now time.Time) Sample {
	if len(b.entries) == 0 {
		return Sample{Time: seconds(b.rt)}
	}
	interval, jitter, base := b.measure()
	delay := b.delay(interval, jitter)
	n := now.Sub(b.epoch).Seconds()
	target := n - base - delay // server time to render now
	if !b.started {
		b.started, b.rt, b.lastNow = true, target, n
	} else {
		dt := max(n-b.lastNow, 0)
		b.lastNow = max(b.lastNow, n)
		lag := target - b.rt
		if lag > max(snapAhead, 2*delay) {
			b.rt = target
		} else {
			rate := 1 + min(max(lag/steerTime, -catchup), catchup)
			b.rt += dt * rate
		}
	}
	s := Sample{Time: seconds(b.rt), Delay: seconds(delay)}
	es := b.entries
	// i: the newest entry at or before the render time.
	i := -1
	for j := len(es) - 1; j >= 0; j-- {
		if es[j].t <= b.rt {
			i = j
			break
		}
	}
	var from, to entry
	switch {
	case i < 0: // before the oldest snapshot: hold it
		from, to = es[0], es[0]
	case i+1 < len(es): // interpolate
		from, to = es[i], es[i+1]
		s.Alpha = (b.rt - from.t) / (to.t - from.t)
	case i > 0: // past the newest: extrapolate from the last two
		from, to = es[i-1], es[i]
		ahead := min(b.rt-to.t, b.cfg.MaxExtrapolation.Seconds())
		s.Extrapolated = seconds(ahead)
		s.Alpha = (to.t + ahead - from.t) / (to.t - from.t)
	default: // one snapshot only
		from, to = es[0], es[0]
	}
	s.From, s.To, s.FromFrame, s.ToFrame = from.snap, to.snap, from.frame, to.frame
	if i >= 0 {
		b.lastFrom = from.frame
	}
	// Drop what the render time has passed, keeping the pair in use.
	if k := slices.IndexFunc(es, func(e entry) bool { return e.frame == from.frame }); k > 0 {
		for _, e := range es[:k] {
			b.recycle(e.snap)
		}
		clear(es[:k])
		b.entries = append(es[:0], es[k:]...)
	}
	return s
}

// Render samples the buffer for a render at now and blends the two
// snapshots into dst (see Blend), reusing dst's slices. It reports false,
// leaving dst untouched, when the buffer is empty.
func (b *Buffer) Render(dst *world.Snapshot, now time.Time) (Sample, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sample(now)
	if s.To == nil {
		return s, false
	}
	dt := float32(float64(s.ToFrame-s.FromFrame) * b.step)
	b.blend.blend(dst, s.From, s.To, s.Alpha, b.cfg.MaxSpeed*dt)
	s.From, s.To = nil, nil // not valid outside the lock
	return s, true
}

// Blender blends two snapshots into a third: Blend writes into dst the
// blend of from and to at alpha (0 is from, 1 is to, above 1 extrapolates
// positions past to), reusing dst's slices so that it does not allocate in
// steady state. An entity farther apart in
// the two than maxMove metres (or whose shape changed) teleported: it is
// drawn at its pose in the nearer snapshot. An entity in only one of them
// (created or removed between the two) is drawn, unblended, while that
// snapshot is the nearer (alpha below 0.5 for from, at or above it for
// to), after the others for one in from only. Rotations, scales and
// colours blend up to alpha 1 and hold beyond; labels, players and the
// frame number are the nearer snapshot's.
//
// A Blender keeps an index between calls to find entities fast; use one
// per goroutine. The zero value is ready.
type Blender struct{ b blender }

// Blend blends from and to into dst; see Blender.
func (bl *Blender) Blend(dst, from, to *world.Snapshot, alpha float64, maxMove float32) {
	bl.b.blend(dst, from, to, alpha, maxMove)
}

// blender finds entities of one snapshot in another.
type blender struct {
	indexOf  *world.Snapshot  // the snapshot index describes
	index    map[uint32]int32 // entity id -> position in indexOf
	indexLen int
	matched  []bool
}

func (bl *blender) find(from *world.Snapshot, id uint32, guess int) int {
	if guess < len(from.Entities) && from.Entities[guess].ID == id {
		return guess
	}
	if bl.indexOf != from || bl.indexLen != len(from.Entities) {
		if bl.index == nil {
			bl.index = make(map[uint32]int32, len(from.Entities))
		}
		clear(bl.index)
		for i := range from.Entities {
			bl.index[from.Entities[i].ID] = int32(i)
		}
		bl.indexOf, bl.indexLen = from, len(from.Entities)
	}
	if i, ok := bl.index[id]; ok {
		return int(i)
	}
	return -1
}

func (bl *blender) blend(dst, from, to *world.Snapshot, alpha float64, maxMove float32) {
	if alpha < 0 || alpha != alpha {
		alpha = 0
	}
	near := to
	if alpha < 0.5 {
		near = from
	}
	dst.Frame = near.Frame
	dst.Players = append(dst.Players[:0], near.Players...)
	ents := dst.Entities[:0]
	if from == to {
		dst.Entities = append(ents, to.Entities...)
		bl.indexOf = nil
		return
	}
	bl.matched = slices.Grow(bl.matched[:0], len(from.Entities))[:len(from.Entities)]
	clear(bl.matched)
	a := float32(alpha)
	a1 := min(a, 1)
	guess := 0
	for i := range to.Entities {
		e := &to.Entities[i]
		j := bl.find(from, e.ID, guess)
		if j < 0 {
			if alpha >= 0.5 {
				ents = append(ents, *e)
			}
			continue
		}
		guess = j + 1
		bl.matched[j] = true
		f := &from.Entities[j]
		if f.Shape != e.Shape || dist2(f.Position, e.Position) > maxMove*maxMove {
			ents = append(ents, *pick(f, e, alpha))
			continue
		}
		out := *e
		if alpha < 0.5 {
			out.Label = f.Label
		}
		out.Position = lerp3(f.Position, e.Position, a)
		out.Rotation = nlerp(f.Rotation, e.Rotation, a1)
		out.Scale = lerp3(f.Scale, e.Scale, a1)
		out.Color = lerpColor(f.Color, e.Color, a1)
		ents = append(ents, out)
	}
	if alpha < 0.5 {
		for j, m := range bl.matched {
			if !m {
				ents = append(ents, from.Entities[j])
			}
		}
	}
	dst.Entities = ents
}

// pick returns the entity of the nearer snapshot.
func pick(f, e *world.Entity, alpha float64) *world.Entity {
	if alpha < 0.5 {
		return f
	}
	return e
}

func dist2(a, b world.Vec3) float32 {
	dx, dy, dz := b.X-a.X, b.Y-a.Y, b.Z-a.Z
	return dx*dx + dy*dy + dz*dz
}

func lerp(a, b, t float32) float32 { return a + (b-a)*t }

func lerp3(a, b world.Vec3, t float32) world.Vec3 {
	return world.Vec3{X: lerp(a.X, b.X, t), Y: lerp(a.Y, b.Y, t), Z: lerp(a.Z, b.Z, t)}
}

func lerpColor(a, b world.Color, t float32) world.Color {
	c := func(x, y uint8) uint8 { return uint8(lerp(float32(x), float32(y), t) + 0.5) }
	return world.Color{R: c(a.R, b.R), G: c(a.G, b.G), B: c(a.B, b.B), A: c(a.A, b.A)}
}

// nlerp blends two rotations along the shorter arc and normalises.
func nlerp(a, b world.Quat, t float32) world.Quat {
	if a == b {
		return a
	}
	if a.X*b.X+a.Y*b.Y+a.Z*b.Z+a.W*b.W < 0 {
		b = world.Quat{X: -b.X, Y: -b.Y, Z: -b.Z, W: -b.W}
	}
	q := world.Quat{X: lerp(a.X, b.X, t), Y: lerp(a.Y, b.Y, t), Z: lerp(a.Z, b.Z, t), W: lerp(a.W, b.W, t)}
	l := float32(math.Sqrt(float64(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W)))
	if l == 0 {
		return b
	}
	return world.Quat{X: q.X / l, Y: q.Y / l, Z: q.Z / l, W: q.W / l}
}
