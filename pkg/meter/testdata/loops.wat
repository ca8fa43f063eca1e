;; Loops and runaway guests for the fuel tests.
(module
  (memory (export "memory") 2)

  ;; fill sets n bytes to 7: a bulk operation charged by its length.
  (func (export "fill") (param $n i32)
    (memory.fill (i32.const 0) (i32.const 7) (local.get $n)))

  ;; fill_loop fills 64 KiB over and over.
  (func (export "fill_loop")
    (loop $top
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 65536))
      (br $top)))
  ;; count returns n after n iterations of a loop.
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $i))

  ;; spin never returns.
  (func (export "spin")
    (loop $top (br $top)))

  (func $leaf (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))

  ;; rec calls itself n times.
  (func $rec (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1)))))))

  ;; spin_calls calls leaf and a 10-deep recursion forever.
  (func (export "spin_calls") (result i32)
    (local $acc i32)
    (loop $top
      (local.set $acc (call $leaf (local.get $acc)))
      (local.set $acc (i32.add (local.get $acc) (call $rec (i32.const 10))))
      (br $top))
    (unreachable))

  ;; recurse recurses n deep.
  (func (export "recurse") (param $n i32) (result i32)
    (call $rec (local.get $n)))
)
