// rcc.ts: what an AssemblyScript game for RCC needs, with no dependency:
// the argument buffer behind the alloc export, the length-prefixed state
// buffer behind serialize_state, a reader of numbers in the init config,
// and the world snapshot encoder (the wire format of pkg/world, version 1,
// byte for byte).
//
// A game re-exports alloc and defines init, tick, on_input and
// serialize_state in assembly/index.ts (see games/as-chase and docs/abi.md).
// It builds with the stub runtime, which never frees: keep buffers and
// slots across frames instead of allocating per frame.

/** Shapes of the world format. */
export const BOX: u8 = 1;
export const SPHERE: u8 = 2;
export const CYLINDER: u8 = 3;
export const CAPSULE: u8 = 4;
export const PLANE: u8 = 5;
export const CONE: u8 = 6;

export const MAX_LABEL: i32 = 128;
export const MAX_PLAYER_ID: i32 = 128;

let argsPtr: usize = 0;
let argsCap: usize = 0;

/** alloc is the ABI's export: one buffer, reused, grown when too small. */
export function alloc(len: i32): usize {
  if (len < 0) return 0;
  if (<usize>len > argsCap || argsPtr == 0) {
    let c = argsCap * 2;
    if (c < <usize>len) c = <usize>len;
    if (c < 256) c = 256;
    argsPtr = heap.alloc(c);
    argsCap = c;
  }
  return argsPtr;
}

/** State is the length-prefixed state buffer serialize_state returns. */
export class State {
  ptr: usize = 0; // ptr[0..4) is the length prefix
  cap: usize = 0; // bytes of state the buffer holds
  len: usize = 0; // bytes of state written

  /** reset starts a new state, keeping the buffer. */
  reset(): void { this.len = 0; }

  private grow(n: usize): usize {
    if (this.len + n > this.cap) {
      let c = this.cap * 2;
      if (c < this.len + n) c = this.len + n;
      if (c < 1024) c = 1024;
      const p = heap.alloc(c + 4);
      if (this.ptr != 0) memory.copy(p, this.ptr, this.len + 4);
      this.ptr = p;
      this.cap = c;
    }
    const at = this.ptr + 4 + this.len;
    this.len += n;
    return at;
  }

  u8(v: u8): void { store<u8>(this.grow(1), v); }
  u16(v: u16): void { store<u16>(this.grow(2), v); }
  u32(v: u32): void { store<u32>(this.grow(4), v); }
  u64(v: u64): void { store<u64>(this.grow(8), v); }
  f32(v: f32): void { store<f32>(this.grow(4), v); }
  bytes(src: usize, n: usize): void { memory.copy(this.grow(n), src, n); }

  /** finish writes the length prefix and returns what serialize_state returns. */
  finish(): usize {
    this.grow(0);
    store<u32>(this.ptr, <u32>this.len);
    return this.ptr;
  }

  // ---- The world snapshot encoder (pkg/world, docs/world.md).

  /** worldBegin writes the header of a snapshot with ne entities and np
   * players; exactly ne entity and np player calls follow, in that order. */
  worldBegin(frame: u64, ne: u16, np: u16): void {
    this.u32(0x57434352); // "RCCW"
    this.u16(1); // version
    this.u16(0); // flags
    this.u64(frame);
    this.u16(ne);
    this.u16(np);
  }

  /** entity writes one entity: rotation is a quaternion (x, y, z, w),
   * color is 0xRRGGBBAA, label is labelLen bytes of UTF-8 at labelPtr. */
  entity(id: u32, shape: u8,
    px: f32, py: f32, pz: f32,
    rx: f32, ry: f32, rz: f32, rw: f32,
    sx: f32, sy: f32, sz: f32,
    color: u32, labelPtr: usize, labelLen: i32): void {
    this.u32(id);
    this.u8(shape);
    this.u8(<u8>labelLen);
    this.f32(px); this.f32(py); this.f32(pz);
    this.f32(rx); this.f32(ry); this.f32(rz); this.f32(rw);
    this.f32(sx); this.f32(sy); this.f32(sz);
    this.u8(<u8>(color >> 24)); this.u8(<u8>(color >> 16)); this.u8(<u8>(color >> 8)); this.u8(<u8>color);
    this.bytes(labelPtr, <usize>labelLen);
  }

  /** player writes a player record: its id, the entity it controls (0 for
   * none) and its score. */
  player(idPtr: usize, idLen: i32, entity: u32, score: i32): void {
    this.u32(entity);
    this.u32(<u32>score);
    this.u8(<u8>idLen);
    this.bytes(idPtr, <usize>idLen);
  }
}

function isSpace(c: u8): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d; }

/** configU64 finds "key": N (or "key": "N") at the top level of the JSON
 * object of len bytes at ptr and returns N, or def when the key is missing
 * or not an unsigned integer. key is ASCII. */
export function configU64(ptr: usize, len: i32, key: string, def: u64): u64 {
  const klen = key.length;
  let depth = 0;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c == 0x7b || c == 0x5b) { depth++; continue; }
    if (c == 0x7d || c == 0x5d) { depth--; continue; }
    if (c != 0x22) continue;
    const start = ++i;
    while (i < len && load<u8>(ptr + i) != 0x22) { if (load<u8>(ptr + i) == 0x5c) i++; i++; }
    if (i >= len) return def;
    const end = i;
    if (depth != 1 || end - start != klen) continue;
    let same = true;
    for (let k = 0; k < klen; k++) {
      if (load<u8>(ptr + start + k) != <u8>key.charCodeAt(k)) { same = false; break; }
    }
    if (!same) continue;
    let j = end + 1;
    while (j < len && isSpace(load<u8>(ptr + j))) j++;
    if (j >= len || load<u8>(ptr + j) != 0x3a) continue; // a string value, not a key
    j++;
    while (j < len && isSpace(load<u8>(ptr + j))) j++;
    const quoted = j < len && load<u8>(ptr + j) == 0x22;
    if (quoted) j++;
    if (j >= len || load<u8>(ptr + j) < 0x30 || load<u8>(ptr + j) > 0x39) return def;
    let v: u64 = 0;
    while (j < len && load<u8>(ptr + j) >= 0x30 && load<u8>(ptr + j) <= 0x39) {
      const d = <u64>(load<u8>(ptr + j) - 0x30);
      if (v > (0xffffffffffffffff - d) / 10) return def;
      v = v * 10 + d;
      j++;
    }
    if (quoted && (j >= len || load<u8>(ptr + j) != 0x22)) return def;
    return v;
  }
  return def;
}

/** PlayerID holds one player id in memory that lives as long as the module. */
export class PlayerID {
  ptr: usize = heap.alloc(MAX_PLAYER_ID);
  len: i32 = 0;

  set(src: usize, n: i32): void { memory.copy(this.ptr, src, <usize>n); this.len = n; }

  equals(src: usize, n: i32): bool {
    return this.len == n && memory.compare(this.ptr, src, <usize>n) == 0;
  }
}

/** axis reads an int8 axis (-127..127, -128 counts as -127) as -1..1. */
export function axis(b: u8): f32 {
  let v = <i32><i8>b;
  if (v < -127) v = -127;
  return <f32>v / 127;
}

/** Move is a horizontal movement in world space. */
export class Move {
  x: f32 = 0;
  z: f32 = 0;
}

/** controllerMove reads the standard controller input (world.Controller,
 * 10 bytes, tag 0xC1, as rcc-view sends) at ptr into m, turned into world
 * space as world.Controller.WorldMove does (forward at yaw 0 is -Z); it
 * returns false when the bytes are not a controller input. */
export function controllerMove(ptr: usize, len: i32, m: Move): bool {
  if (len != 10 || load<u8>(ptr) != 0xc1) return false;
  const mx = axis(load<u8>(ptr + 1)), mz = axis(load<u8>(ptr + 3));
  const a = <f64>load<i16>(ptr + 4) * (2 * Math.PI / 65536);
  const sn = <f32>Math.sin(a), cs = <f32>Math.cos(a);
  m.x = mx * cs - mz * sn;
  m.z = -mx * sn - mz * cs;
  return true;
}
