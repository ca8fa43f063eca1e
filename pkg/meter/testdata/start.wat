;; A module with a start function, which runs on the initial fuel.
(module
  (global $ran (export "ran") (mut i32) (i32.const 0))
  (func $init
    (local $i i32)
    (loop $top
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $top (i32.lt_u (local.get $i) (i32.const 100))))
    (global.set $ran (local.get $i)))
  (start $init)
)
