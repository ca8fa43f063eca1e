;; A compute-heavy guest for the metering benchmark: 1,000 bodies of
;; (x, y, vx, vy) f64 under gravity, bouncing on the ground and the walls.
(module
  (memory (export "memory") 1)

  ;; init places the bodies.
  (func (export "init")
    (local $i i32) (local $p i32)
    (loop $top
      (local.set $p (i32.shl (local.get $i) (i32.const 5)))
      (f64.store offset=0 (local.get $p) (f64.convert_i32_u (local.get $i)))
      (f64.store offset=8 (local.get $p) (f64.convert_i32_u (i32.rem_u (i32.mul (local.get $i) (i32.const 7919)) (i32.const 1000))))
      (f64.store offset=16 (local.get $p) (f64.sub (f64.convert_i32_u (i32.rem_u (local.get $i) (i32.const 13))) (f64.const 6)))
      (f64.store offset=24 (local.get $p) (f64.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $top (i32.lt_u (local.get $i) (i32.const 1000)))))

  ;; step advances the simulation n steps and returns the sum of heights.
  (func (export "step") (param $n i32) (result f64)
    (local $i i32) (local $p i32) (local $x f64) (local $y f64) (local $vx f64) (local $vy f64)
    (local $sum f64)
    (block $done
      (loop $steps
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $i (i32.const 0))
        (loop $bodies
          (local.set $p (i32.shl (local.get $i) (i32.const 5)))
          (local.set $x (f64.load offset=0 (local.get $p)))
          (local.set $y (f64.load offset=8 (local.get $p)))
          (local.set $vx (f64.load offset=16 (local.get $p)))
          (local.set $vy (f64.sub (f64.load offset=24 (local.get $p)) (f64.const 0.15696)))
          (local.set $vx (f64.mul (local.get $vx) (f64.const 0.999)))
          (local.set $x (f64.add (local.get $x) (f64.mul (local.get $vx) (f64.const 0.016))))
          (local.set $y (f64.add (local.get $y) (f64.mul (local.get $vy) (f64.const 0.016))))
          (if (f64.lt (local.get $y) (f64.const 0))
            (then
              (local.set $y (f64.neg (local.get $y)))
              (local.set $vy (f64.mul (f64.neg (local.get $vy)) (f64.const 0.9)))))
          (if (f64.gt (f64.abs (local.get $x)) (f64.const 1000))
            (then (local.set $vx (f64.neg (local.get $vx)))))
          (f64.store offset=0 (local.get $p) (local.get $x))
          (f64.store offset=8 (local.get $p) (local.get $y))
          (f64.store offset=16 (local.get $p) (local.get $vx))
          (f64.store offset=24 (local.get $p) (local.get $vy))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $bodies (i32.lt_u (local.get $i) (i32.const 1000))))
        (br $steps)))
    (local.set $i (i32.const 0))
    (loop $sum
      (local.set $sum (f64.add (local.get $sum) (f64.load offset=8 (i32.shl (local.get $i) (i32.const 5)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $sum (i32.lt_u (local.get $i) (i32.const 1000))))
    (local.get $sum))
)
