;; Healthy, for migrations: counts every player's inputs. The state bytes
;; (2048) are 256 u32 counts, indexed by the first byte of the player id,
;; then 256 u32s holding the first two bytes (u16) of each player's last
;; input, so a test can tell that no input was lost and that they came in
;; order.
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "tick") (param f32))
  (func (export "on_input") (param $pp i32) (param $pn i32) (param $ip i32) (param $in i32)
    (local $slot i32)
    (if (i32.eqz (local.get $pn)) (then (return)))
    (local.set $slot (i32.shl (i32.load8_u (local.get $pp)) (i32.const 2)))
    (i32.store (i32.add (i32.const 4096) (local.get $slot))
      (i32.add (i32.load (i32.add (i32.const 4096) (local.get $slot))) (i32.const 1)))
    (if (i32.ge_u (local.get $in) (i32.const 2))
      (then (i32.store (i32.add (i32.const 5120) (local.get $slot)) (i32.load16_u (local.get $ip))))))
  (func (export "serialize_state") (result i32)
    (i32.store (i32.const 4092) (i32.const 2048))
    (i32.const 4092))
)
