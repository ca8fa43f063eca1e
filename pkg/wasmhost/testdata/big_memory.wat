;; Healthy, for snapshots: init grows memory to 1024 pages (64 MiB, the
;; default limit) and fills it with random_get; every tick counts in a
;; hidden mutable global, reads 12 random bytes (a partial ChaCha8 word),
;; the monotonic clock and one word of memory at a random address, and
;; writes a word at another. The state bytes (32) hold all four, so a
;; restored instance matches only if memory, globals, the random stream and
;; the clock all came back.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (global $ticks (mut i64) (i64.const 0))
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "init") (param i32 i32) (result i32)
    (drop (memory.grow (i32.const 1023)))
    (drop (call $random_get (i32.const 0) (i32.const 67108864)))
    (i32.const 0))
  (func (export "tick") (param f32)
    (global.set $ticks (i64.add (global.get $ticks) (i64.const 1)))
    (drop (call $random_get (i32.const 12) (i32.const 12)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 24)))
    (i32.store (i32.const 32)
      (i32.load (i32.and (i32.load (i32.const 16)) (i32.const 0x3fffffc))))
    (i32.store (i32.and (i32.load (i32.const 12)) (i32.const 0x3fffffc))
      (i32.wrap_i64 (global.get $ticks)))
    (i64.store (i32.const 4) (global.get $ticks)))
  (func (export "on_input") (param i32 i32 i32 i32))
  (func (export "serialize_state") (result i32)
    (i32.store (i32.const 0) (i32.const 32))
    (i32.const 0))
)
