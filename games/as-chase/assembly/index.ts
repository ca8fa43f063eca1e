// chase: a small multiplayer game in AssemblyScript for RCC. A ghost hunts
// the nearest player on a 24 m square floor; every second a player stays
// free is a point, and a caught player loses its points and reappears at a
// place drawn from the instance seed. Same seed and inputs, same state.
//
// Input: 3 bytes, as arena's: int8 x axis, int8 z axis (-127..127), flags
// (ignored), or the standard controller input (world.Controller, as
// rcc-view sends); the latest input holds. At most MAX players; later joins are
// ignored until one leaves. State: a world snapshot: the floor (id 1), the
// ghost (id 2), one capsule per player (ids 100..) labelled with its id.
import { State, PlayerID, Move, axis, configU64, controllerMove, CAPSULE, PLANE, SPHERE } from "../../../sdk/assemblyscript/rcc";
export { alloc } from "../../../sdk/assemblyscript/rcc";

const MAX = 16;
const HALF: f32 = 12;
const SPEED: f32 = 6;
const GHOST_SPEED: f32 = 4;
const CATCH: f32 = 0.9;

class Player {
  used: bool = false;
  id: PlayerID = new PlayerID();
  score: i32 = 0;
  free: f32 = 0; // seconds free since the last point
  x: f32 = 0;
  z: f32 = 0;
  ax: f32 = 0;
  az: f32 = 0;
}

const players = new StaticArray<Player>(MAX);
for (let i = 0; i < MAX; i++) players[i] = new Player();
const state = new State();
let rng: u64 = 1;
let frame: u64 = 0;
let gx: f32 = 0;
let gz: f32 = 0;

// next is xorshift64*, the only randomness of the game.
function next(): u64 {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717;
}

function place(): f32 {
  return <f32>(next() >> 40) / <f32>(1 << 24) * (2 * HALF - 2) - (HALF - 1);
}

export function init(ptr: usize, len: i32): i32 {
  rng = configU64(ptr, len, "seed", 0) ^ 0x9e3779b97f4a7c15;
  if (rng == 0) rng = 1;
  return 0;
}

function find(ptr: usize, len: i32): i32 {
  for (let i = 0; i < MAX; i++) {
    if (players[i].used && players[i].id.equals(ptr, len)) return i;
  }
  return -1;
}

export function on_join(ptr: usize, len: i32): void {
  if (len <= 0 || len > 128 || find(ptr, len) >= 0) return;
  for (let i = 0; i < MAX; i++) {
    const p = players[i];
    if (p.used) continue;
    p.used = true;
    p.id.set(ptr, len);
    p.score = 0;
    p.free = 0;
    p.ax = 0;
    p.az = 0;
    p.x = place();
    p.z = place();
    return;
  }
}

export function on_leave(ptr: usize, len: i32): void {
  const i = find(ptr, len);
  if (i >= 0) players[i].used = false;
}

const move = new Move();

export function on_input(pPtr: usize, pLen: i32, iPtr: usize, iLen: i32): void {
  const i = find(pPtr, pLen);
  if (i < 0) return;
  if (controllerMove(iPtr, iLen, move)) {
    players[i].ax = move.x;
    players[i].az = move.z;
    return;
  }
  if (iLen != 3) return; // clients send arbitrary bytes
  players[i].ax = axis(load<u8>(iPtr));
  players[i].az = axis(load<u8>(iPtr + 1));
}

function clamp(v: f32): f32 { return v < -HALF ? -HALF : v > HALF ? HALF : v; }

export function tick(dtMs: f32): void {
  const dt = dtMs / 1000;
  frame++;
  let target = -1;
  let best: f32 = 0;
  for (let i = 0; i < MAX; i++) {
    const p = players[i];
    if (!p.used) continue;
    p.x = clamp(p.x + p.ax * SPEED * dt);
    p.z = clamp(p.z + p.az * SPEED * dt);
    p.free += dt;
    if (p.free >= 1) { p.free -= 1; p.score++; }
    const dx = p.x - gx, dz = p.z - gz;
    const d = dx * dx + dz * dz;
    if (target < 0 || d < best) { target = i; best = d; }
  }
  if (target < 0) return;
  const p = players[target];
  const d = Mathf.sqrt(best);
  if (d < CATCH) {
    p.score = 0;
    p.free = 0;
    p.x = place();
    p.z = place();
    return;
  }
  const step = GHOST_SPEED * dt;
  gx += (p.x - gx) / d * step;
  gz += (p.z - gz) / d * step;
}

export function serialize_state(): usize {
  let n: u16 = 0;
  for (let i = 0; i < MAX; i++) if (players[i].used) n++;
  state.reset();
  state.worldBegin(frame, 2 + n, n);
  state.entity(1, PLANE, 0, 0, 0, 0, 0, 0, 1, 2 * HALF, 1, 2 * HALF, 0x505a78ff, 0, 0);
  state.entity(2, SPHERE, gx, 0.8, gz, 0, 0, 0, 1, 1.2, 1.2, 1.2, 0xe6e6ffc8, 0, 0);
  for (let i = 0; i < MAX; i++) {
    const p = players[i];
    if (!p.used) continue;
    state.entity(100 + i, CAPSULE, p.x, 0.9, p.z, 0, 0, 0, 1, 0.8, 1.8, 0.8, 0xe6783cff, p.id.ptr, p.id.len);
  }
  for (let i = 0; i < MAX; i++) {
    const p = players[i];
    if (p.used) state.player(p.id.ptr, p.id.len, 100 + i, p.score);
  }
  return state.finish();
}
