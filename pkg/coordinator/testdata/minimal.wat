;; The smallest module that passes the guest ABI v1 check: every required
;; export, no imports, an empty state. Built with:
;;   wat2wasm minimal.wat -o minimal.wasm
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "tick") (param f32))
  (func (export "on_input") (param i32 i32 i32 i32))
  (func (export "serialize_state") (result i32) (i32.const 0)))
