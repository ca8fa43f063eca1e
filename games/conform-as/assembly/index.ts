// The AssemblyScript implementation of the conformance game of
// docs/conformance.md; games/conform-go is the reference.
import { State, PlayerID, configU64, BOX, CAPSULE } from "../../../sdk/assemblyscript/rcc";
export { alloc } from "../../../sdk/assemblyscript/rcc";

const MAX_LISTED = 64;

class Listed {
  id: PlayerID = new PlayerID();
  entity: u32 = 0;
  score: i32 = 0;
  x: i32 = 0;
  z: i32 = 0;
}

const players = new StaticArray<Listed>(MAX_LISTED);
for (let i = 0; i < MAX_LISTED; i++) players[i] = new Listed();
let nplayers = 0;
let seed: u64 = 0;
let maxPlayers = 4;
let avatars: u32 = 0;
let frame: u64 = 0;
let t: f32 = 0;
const state = new State();
const label = memory.data<u8>([0x63, 0x6f, 0x6e, 0x66, 0x6f, 0x72, 0x6d]); // "conform"

export function init(ptr: usize, len: i32): i32 {
  seed = configU64(ptr, len, "seed", 0);
  const mp = configU64(ptr, len, "max_players", 0);
  maxPlayers = mp > <u64>MAX_LISTED ? MAX_LISTED : <i32>mp;
  if (maxPlayers == 0) maxPlayers = 4;
  return 0;
}

function find(ptr: usize, len: i32): i32 {
  for (let i = 0; i < nplayers; i++) if (players[i].id.equals(ptr, len)) return i;
  return -1;
}

export function on_join(ptr: usize, len: i32): void {
  if (len <= 0 || len > 128 || find(ptr, len) >= 0 || nplayers == MAX_LISTED) return;
  let withAvatar = 0;
  for (let i = 0; i < nplayers; i++) if (players[i].entity != 0) withAvatar++;
  const p = players[nplayers++];
  p.id.set(ptr, len);
  p.entity = 0;
  p.score = 0;
  p.x = 0;
  p.z = 0;
  if (withAvatar < maxPlayers) {
    p.entity = 100 + avatars;
    p.x = <i32>avatars;
    p.z = <i32>(seed % 5);
    avatars++;
  }
}

export function on_leave(ptr: usize, len: i32): void {
  const i = find(ptr, len);
  if (i < 0) return;
  // Keep the order: move the leaver's slot (and its id buffer) to the end.
  const gone = players[i];
  for (let j = i; j < nplayers - 1; j++) players[j] = players[j + 1];
  players[nplayers - 1] = gone;
  nplayers--;
}

export function on_input(pPtr: usize, pLen: i32, iPtr: usize, iLen: i32): void {
  const i = find(pPtr, pLen);
  if (i < 0 || iLen <= 0) return;
  const p = players[i];
  const b = load<u8>(iPtr);
  if (b == 0x4c) p.x--;        // L
  else if (b == 0x52) p.x++;   // R
  else if (b == 0x55) p.z--;   // U
  else if (b == 0x44) p.z++;   // D
  else { p.score--; return; }
  p.score++;
}

export function tick(dtMs: f32): void {
  frame++;
  t += dtMs / 1000;
}

export function serialize_state(): usize {
  let ne: u16 = 1;
  for (let i = 0; i < nplayers; i++) if (players[i].entity != 0) ne++;
  state.reset();
  state.worldBegin(frame, ne, <u16>nplayers);
  const color = (<u32>(seed & 0xff) << 24) | (<u32>((seed >> 8) & 0xff) << 16) | (<u32>((seed >> 16) & 0xff) << 8) | 0xff;
  state.entity(1, BOX, t, <f32>(seed % 1000), -1.5, 0, <f32>0.70710677, 0, <f32>0.70710677, 0.5, 0.25, 2, color, label, 7);
  for (let i = 0; i < nplayers; i++) {
    const p = players[i];
    if (p.entity == 0) continue;
    state.entity(p.entity, CAPSULE, <f32>p.x, 0.5, <f32>p.z, 0, 0, 0, 1, 1, 2, 1, 0x0080ffff, p.id.ptr, p.id.len);
  }
  for (let i = 0; i < nplayers; i++) {
    const p = players[i];
    state.player(p.id.ptr, p.id.len, p.entity, p.score);
  }
  return state.finish();
}
