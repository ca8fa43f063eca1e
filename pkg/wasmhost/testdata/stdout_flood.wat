;; Hostile: tick writes 1 KiB lines to stdout forever.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; The event log: one record per guest call, returned by serialize_state.
  (global $pos (mut i32) (i32.const 0))
  (global $reset (mut i32) (i32.const 0))
  (func $rec (param $b i32)
    (if (global.get $reset) (then (global.set $pos (i32.const 0)) (global.set $reset (i32.const 0))))
    (i32.store8 (i32.add (i32.const 8196) (global.get $pos)) (local.get $b))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
  (func $first (param $p i32) (param $n i32) (result i32)
    (if (result i32) (local.get $n) (then (i32.load8_u (local.get $p))) (else (i32.const 0x2d))))
  ;; Arguments go to a fixed buffer at 1024; the log lives at 8196.
  (func (export "alloc") (param $n i32) (result i32) (i32.const 1024))
  ;; Records 'N' and the JSON config it received.
  (func (export "init") (param $p i32) (param $n i32) (result i32)
    (local $i i32)
    (call $rec (i32.const 0x4e))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $rec (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (i32.const 0))
  (func (export "tick") (param f32)
    (i32.store (i32.const 100) (i32.const 2048)) ;; iovec: 1 KiB of zeros at 2048 ...
    (i32.store (i32.const 104) (i32.const 1024))
    (i32.store8 (i32.const 3071) (i32.const 10)) ;; ... ending in a newline
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))
      (br $forever)))
  (func (export "on_input") (param $pp i32) (param $pn i32) (param $ip i32) (param $in i32)
    (call $rec (i32.const 0x49))
    (call $rec (call $first (local.get $pp) (local.get $pn)))
    (call $rec (call $first (local.get $ip) (local.get $in))))
  (func (export "on_join") (param $p i32) (param $n i32)
    (call $rec (i32.const 0x4a)) (call $rec (call $first (local.get $p) (local.get $n))))
  (func (export "on_leave") (param $p i32) (param $n i32)
    (call $rec (i32.const 0x4c)) (call $rec (call $first (local.get $p) (local.get $n))))
  (func (export "serialize_state") (result i32)
    (i32.store (i32.const 8192) (global.get $pos))
    (global.set $reset (i32.const 1))
    (i32.const 8192))
)
