package wasmhost

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"

	"github.com/klauspost/compress/zstd"
	"github.com/tetratelabs/wazero/api"
)

// The snapshot format (docs/snapshots.md): a 12-byte header, then one
// zstd stream holding the payload, whose last 4 bytes are the CRC-32C of
// the bytes before them.
const (
	snapshotMagic = "rccsnap\x00"
	// SnapshotFormat is the version of the format WriteTo writes and
	// ReadSnapshot reads.
	SnapshotFormat  = 1
	compressionZstd = 1
)

// Bounds of what ReadSnapshot accepts, so that damaged or hostile bytes
// cannot make it allocate more than the snapshot would restore into.
const (
	maxSnapshotString = 64 << 10
	maxSnapshotParams = 1 << 20
	maxSnapshotRandom = 256
	maxSnapshotItems  = 1 << 20 // globals, events, players
	maxSnapshotInput  = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the snapshot in the snapshot format, compressed.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	header := make([]byte, 0, 12)
	header = append(header, snapshotMagic...)
	header = binary.LittleEndian.AppendUint16(header, SnapshotFormat)
	header = append(header, compressionZstd, 0)
	if _, err := cw.Write(header); err != nil {
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	zw, err := zstd.NewWriter(cw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	if err := s.writePayload(zw); err != nil {
		_ = zw.Close()
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return cw.n, fmt.Errorf("write snapshot: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writePayload writes the uncompressed payload and its checksum.
func (s *Snapshot) writePayload(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	crc := crc32.New(crcTable)
	e := &encoder{w: io.MultiWriter(bw, crc)}
	e.raw(s.ModuleSHA256[:])
	e.bool(s.Metered)
	e.str(s.InstanceID)
	e.str(s.Game)
	e.str(s.Version)
	e.u64(s.Seed)
	e.uvarint(uint64(s.MaxPlayers))
	e.uvarint(uint64(s.TickHz))
	e.bytes(s.Params)
	e.u32(s.MemoryLimitPages)
	e.u64(uint64(s.InitFuel))
	e.u64(uint64(s.FrameFuel))
	e.u64(s.Frame)
	e.u64(uint64(s.ClockLast))
	e.bytes(s.Random)
	e.u64(uint64(s.Budget))
	e.u64(uint64(s.FuelUsed))
	e.uvarint(uint64(len(s.Globals)))
	for _, g := range s.Globals {
		e.str(g.Name)
		e.raw([]byte{g.Type})
		e.u64(g.Value)
	}
	e.u32(s.MemoryPages)
	e.uvarint(uint64(len(s.Pages)))
	for _, p := range s.Pages {
		if len(p.Data) != PageSize {
			return fmt.Errorf("page %d has %d bytes, want %d", p.Index, len(p.Data), PageSize)
		}
		e.u32(p.Index)
		e.raw(p.Data)
	}
	e.uvarint(uint64(len(s.Pending)))
	for _, ev := range s.Pending {
		e.raw([]byte{byte(ev.Kind)})
		e.str(ev.Player)
		e.bytes(ev.Data)
	}
	e.uvarint(uint64(len(s.Players)))
	for _, p := range s.Players {
		e.str(p)
	}
	if e.err != nil {
		return e.err
	}
	if _, err := bw.Write(crc.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

type encoder struct {
	w   io.Writer
	buf [binary.MaxVarintLen64]byte
	err error
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) uvarint(v uint64) { e.raw(binary.AppendUvarint(e.buf[:0], v)) }
func (e *encoder) u32(v uint32)     { e.raw(binary.LittleEndian.AppendUint32(e.buf[:0], v)) }
func (e *encoder) u64(v uint64)     { e.raw(binary.LittleEndian.AppendUint64(e.buf[:0], v)) }
func (e *encoder) bytes(b []byte)   { e.uvarint(uint64(len(b))); e.raw(b) }
func (e *encoder) str(s string)     { e.bytes([]byte(s)) }

func (e *encoder) bool(b bool) {
	if b {
		e.raw([]byte{1})
	} else {
		e.raw([]byte{0})
	}
}

// ReadSnapshot reads a snapshot written by WriteTo. It refuses, wrapping
// ErrBadSnapshot, anything else: another format version, damaged bytes (the
// checksum), trailing data, and a memory of more than maxMemoryPages pages
// (0: the most wasm32 allows), before allocating for it.
func ReadSnapshot(r io.Reader, maxMemoryPages uint32) (*Snapshot, error) {
	if maxMemoryPages == 0 || maxMemoryPages > wasm32MaxPages {
		maxMemoryPages = wasm32MaxPages
	}
	var header [12]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadSnapshot, err)
	}
	if string(header[:8]) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrBadSnapshot, header[:8])
	}
	if v := binary.LittleEndian.Uint16(header[8:]); v != SnapshotFormat {
		return nil, fmt.Errorf("%w: format version %d, this host reads %d", ErrBadSnapshot, v, SnapshotFormat)
	}
	if header[10] != compressionZstd || header[11] != 0 {
		return nil, fmt.Errorf("%w: compression %d, flags %d", ErrBadSnapshot, header[10], header[11])
	}
	// The largest payload: the memory, plus everything else at its bounds.
	maxPayload := uint64(maxMemoryPages)*(PageSize+4) + 1<<30
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxPayload),
		zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	defer zr.Close()
	s, err := readPayload(zr, maxMemoryPages)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// readPayload decodes the payload from r and checks its checksum and that
// nothing follows it.
func readPayload(r io.Reader, maxMemoryPages uint32) (*Snapshot, error) {
	crc := crc32.New(crcTable)
	d := &decoder{r: bufio.NewReaderSize(r, 64<<10), crc: crc}
	s := &Snapshot{}
	d.raw(s.ModuleSHA256[:])
	s.Metered = d.bool()
	s.InstanceID = d.str()
	s.Game = d.str()
	s.Version = d.str()
	s.Seed = d.u64()
	s.MaxPlayers = d.int(math.MaxInt32)
	s.TickHz = d.int(10_000)
	s.Params = d.bytes(maxSnapshotParams)
	s.MemoryLimitPages = d.u32()
	s.InitFuel = int64(d.u64())
	s.FrameFuel = int64(d.u64())
	s.Frame = d.u64()
	s.ClockLast = int64(d.u64())
	s.Random = d.bytes(maxSnapshotRandom)
	s.Budget = int64(d.u64())
	s.FuelUsed = int64(d.u64())
	n := d.int(maxSnapshotItems)
	for k := 0; k < n && d.err == nil; k++ {
		g := Global{Name: d.str(), Type: d.byte(), Value: d.u64()}
		switch g.Type {
		case api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF32, api.ValueTypeF64,
			api.ValueTypeExternref, 0x70: // 0x70: funcref
		default:
			d.fail("global %s has unknown type %#x", g.Name, g.Type)
		}
		if k > 0 && g.Name <= s.Globals[k-1].Name {
			d.fail("global %s after %s, want them sorted", g.Name, s.Globals[k-1].Name)
		}
		s.Globals = append(s.Globals, g)
	}
	s.MemoryPages = d.u32()
	if d.err == nil && s.MemoryPages > maxMemoryPages {
		d.fail("%d pages of memory, over the limit of %d", s.MemoryPages, maxMemoryPages)
	}
	n = d.int(int(s.MemoryPages))
	for k := 0; k < n && d.err == nil; k++ {
		p := Page{Index: d.u32()}
		if p.Index >= s.MemoryPages || (k > 0 && p.Index <= s.Pages[k-1].Index) {
			d.fail("page %d out of order or past %d pages", p.Index, s.MemoryPages)
			break
		}
		p.Data = make([]byte, PageSize)
		d.raw(p.Data)
		s.Pages = append(s.Pages, p)
	}
	n = d.int(maxSnapshotItems)
	for k := 0; k < n && d.err == nil; k++ {
		ev := Event{Kind: EventKind(d.byte()), Player: d.str(), Data: d.bytes(maxSnapshotInput)}
		if ev.Kind > EventLeave {
			d.fail("event of unknown kind %d", ev.Kind)
		}
		s.Pending = append(s.Pending, ev)
	}
	n = d.int(maxSnapshotItems)
	for k := 0; k < n && d.err == nil; k++ {
		s.Players = append(s.Players, d.str())
	}
	if d.err != nil {
		return nil, d.err
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(d.r, sum[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrBadSnapshot, err)
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, the content's is %08x: the snapshot is damaged", ErrBadSnapshot, got, want)
	}
	if _, err := d.r.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, fmt.Errorf("%w: data after the checksum", ErrBadSnapshot)
		}
		return nil, fmt.Errorf("%w: after the checksum: %v", ErrBadSnapshot, err)
	}
	return s, nil
}

type decoder struct {
	r   *bufio.Reader
	crc hash.Hash32
	buf [8]byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) raw(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.fail("truncated: %v", err)
		return
	}
	d.crc.Write(b)
}

func (d *decoder) byte() byte {
	d.raw(d.buf[:1])
	return d.buf[0]
}

func (d *decoder) bool() bool {
	b := d.byte()
	if b > 1 {
		d.fail("boolean %d", b)
	}
	return b == 1
}

func (d *decoder) u32() uint32 {
	d.raw(d.buf[:4])
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(d.buf[:4])
}

func (d *decoder) u64() uint64 {
	d.raw(d.buf[:8])
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(d.buf[:8])
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := d.byte()
		if d.err != nil {
			return 0
		}
		if shift == 63 && c > 1 || shift > 63 {
			d.fail("varint overflows 64 bits")
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

// int reads a count or a size of at most limit.
func (d *decoder) int(limit int) int {
	v := d.uvarint()
	if v > uint64(limit) {
		d.fail("%d over the bound of %d", v, limit)
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(limit int) []byte {
	n := d.int(limit)
	if d.err != nil || n == 0 {
		return nil
	}
	b := make([]byte, n)
	d.raw(b)
	return b
}

func (d *decoder) str() string { return string(d.bytes(maxSnapshotString)) }
