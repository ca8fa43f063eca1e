;; Control flow and instruction coverage for the differential tests:
;; every export computes the same result metered and unmetered.
(module
  (type $pair (func (param i32) (result i32 i32)))
  (type $bin (func (param i32 i32) (result i32)))
  (type $un (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 4 funcref)
  (table $ext 2 externref)
  (global $g (mut i32) (i32.const 7))
  (elem (table $t) (i32.const 0) func $add $sub $mul $swap_add)
  (data $d "\01\02\03\04\05\06\07\08")

  (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $sub (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func $swap_add (param i32 i32) (result i32)
    (i32.add (i32.shl (local.get 1) (i32.const 1)) (local.get 0)))

  ;; switch maps a selector through br_table over nested blocks.
  (func (export "switch") (param $x i32) (result i32)
    (block $b3
      (block $b2
        (block $b1
          (block $b0
            (br_table $b0 $b1 $b2 $b3 (local.get $x)))
          (return (i32.const 100)))
        (return (i32.const 200)))
      (return (i32.const 300)))
    (i32.const 400))

  ;; classify uses if/else chains and select.
  (func (export "classify") (param $x i32) (result i32)
    (local $r i32)
    (if (i32.lt_s (local.get $x) (i32.const 0))
      (then (local.set $r (i32.const -1)))
      (else
        (if (i32.eqz (local.get $x))
          (then (local.set $r (i32.const 0)))
          (else (local.set $r (i32.const 1))))))
    (i32.add
      (i32.mul (local.get $r) (i32.const 10))
      (select (i32.const 5) (i32.const 6) (i32.and (local.get $x) (i32.const 1)))))

  ;; multi uses a type-index block type with parameters and two results.
  (func (export "multi") (param $x i32) (result i32)
    (local.get $x)
    (block (type $pair)
      (local.tee $x)
      (i32.mul (local.get $x) (i32.const 3)))
    (i32.add))

  ;; loopval is a loop with a parameter and a result (multi-value loop).
  (func (export "loopval") (param $n i32) (result i32)
    (local $i i32)
    (i32.const 0)
    (loop $top (type $un)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (i32.add (local.get $i))
      (br_if $top (i32.lt_u (local.get $i) (local.get $n)))))

  ;; indirect calls through the table.
  (func (export "indirect") (param $i i32) (param $a i32) (result i32)
    (call_indirect $t (type $bin) (local.get $a) (i32.const 5) (local.get $i)))

  ;; typed select, sign extension, saturating conversion.
  (func (export "numeric") (param $x i32) (result i64)
    (i64.add
      (i64.extend32_s (i64.extend_i32_u (local.get $x)))
      (i64.add
        (i64.trunc_sat_f64_s (f64.mul (f64.convert_i32_s (local.get $x)) (f64.const 1e300)))
        (select (result i64) (i64.const 1) (i64.const 2) (i32.extend8_s (local.get $x))))))

  ;; bulk memory and memory.grow.
  (func (export "bulk") (param $n i32) (result i32)
    (memory.init $d (i32.const 16) (i32.const 0) (i32.const 8))
    (memory.copy (i32.const 32) (i32.const 16) (i32.const 8))
    (memory.fill (i32.const 40) (local.get $n) (i32.const 4))
    (data.drop $d)
    (drop (memory.grow (i32.const 0)))
    (i32.add (i32.add (i32.load (i32.const 32)) (i32.load (i32.const 40)))
      (memory.size)))

  ;; reference types and table instructions.
  (func (export "refs") (param $i i32) (result i32)
    (table.set $ext (i32.const 1) (ref.null extern))
    (drop (table.grow $t (ref.func $add) (i32.const 1)))
    (table.fill $t (i32.const 4) (ref.func $mul) (i32.const 1))
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (i32.add
      (i32.add (table.size $t) (ref.is_null (table.get $ext (i32.const 1))))
      (call_indirect $t (type $bin) (i32.const 3) (local.get $i) (local.get $i))))

  ;; simd uses loads, lanes, shuffles and arithmetic.
  (func (export "simd") (param $x i32) (result i32)
    (local $v v128)
    (v128.store (i32.const 64) (v128.const i32x4 1 2 3 4))
    (local.set $v (i32x4.add (v128.load (i32.const 64)) (i32x4.splat (local.get $x))))
    (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
    (local.set $v (v128.load32_lane 1 (i32.const 64) (local.get $v)))
    (v128.store64_lane 0 (i32.const 96) (local.get $v))
    (local.set $v (f32x4.mul (local.get $v) (v128.load32_zero (i32.const 68))))
    (i32.add
      (i32.add (i32x4.extract_lane 1 (local.get $v)) (i32.load (i32.const 96)))
      (i32.add (i8x16.extract_lane_u 0 (i8x16.popcnt (local.get $v)))
        (i32x4.bitmask (i32x4.lt_s (local.get $v) (v128.const i64x2 0 0))))))

  ;; globals and a loop with an if inside.
  (func (export "collatz") (param $n i32) (result i32)
    (local $steps i32)
    (global.set $g (i32.const 0))
    (block $done
      (loop $top
        (br_if $done (i32.le_u (local.get $n) (i32.const 1)))
        (if (i32.and (local.get $n) (i32.const 1))
          (then (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1))))
          (else (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (br $top)))
    (global.get $g))

  ;; early exits in dead code after br and return.
  (func (export "early") (param $x i32) (result i32)
    (block $out (result i32)
      (br_if $out (i32.const 11) (i32.eq (local.get $x) (i32.const 1)))
      (if (i32.eq (local.get $x) (i32.const 2)) (then (return (i32.const 22))))
      (br $out (i32.const 33))
      (drop (i32.const 44)))
    (i32.add (i32.const 1)))
)
