;; minimal.wat with a forbidden import, refused at deploy. Built with:
;;   wat2wasm bad_import.wat -o bad_import.wasm
(module
  (import "env" "sneaky" (func))
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "tick") (param f32))
  (func (export "on_input") (param i32 i32 i32 i32))
  (func (export "serialize_state") (result i32) (i32.const 0)))
