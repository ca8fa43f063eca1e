;; Not a game: a module of function tables, for TestFunctionTables (the
;; host's patch of wazero's table filling). Its table mixes an imported
;; function, local functions that count calls in this instance's global, a
;; null entry and an element given by expression; a passive segment is
;; copied in by table.init.
(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (table 16 funcref)
  (global $calls (mut i32) (i32.const 0))
  (func $count (param i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (local.get 0) (global.get $calls)))
  (func $negate (param i32) (result i32)
    (i32.sub (i32.const 0) (local.get 0)))
  (func $square (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))
  ;; 0: imported, 1: count, 2: negate (plain function indexes)
  (elem (i32.const 0) func $twice $count $negate)
  ;; 4: null, 5: square (expressions)
  (elem (i32.const 4) funcref (ref.null func) (ref.func $square))
  ;; passive, copied to 8 and 9 by fill
  (elem $later func $square $count)
  (func (export "fill")
    (table.init $later (i32.const 8) (i32.const 0) (i32.const 2)))
  (func (export "call") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (local.get $slot)))
  (func (export "calls") (result i32) (global.get $calls)))
