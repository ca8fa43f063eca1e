;; Healthy: every tick opens /assets/hello.txt, reads up to 64 bytes of it
;; and closes it again, so that no file is held open between frames. The
;; state bytes are the errno of the open, the bytes read, 64 bytes of the
;; file (zero-padded) and the tick count (u32): they show whether an
;; instance sees its assets at /assets.
(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 2)
  ;; Arguments go to a fixed buffer at 1024; the state lives at 8192:
  ;; length (70), errno u8, nread u8, content [64], ticks u32.
  (func (export "alloc") (param $n i32) (result i32) (i32.const 1024))
  (func (export "init") (param i32 i32) (result i32)
    (i32.store (i32.const 8192) (i32.const 70))
    (i32.const 0))
  (func (export "tick") (param $dt f32)
    (local $errno i32)
    (local $fd i32)
    (memory.fill (i32.const 8196) (i32.const 0) (i32.const 66))
    (local.set $errno (call $path_open (i32.const 3) (i32.const 0) (i32.const 200) (i32.const 9) (i32.const 0)
      (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 300)))
    (i32.store8 (i32.const 8196) (local.get $errno))
    (if (i32.eqz (local.get $errno))
      (then
        (local.set $fd (i32.load (i32.const 300)))
        (i32.store (i32.const 310) (i32.const 8198)) ;; iovec {8198, 64}
        (i32.store (i32.const 314) (i32.const 64))
        (drop (call $fd_read (local.get $fd) (i32.const 310) (i32.const 1) (i32.const 320)))
        (i32.store8 (i32.const 8197) (i32.load (i32.const 320)))
        (drop (call $fd_close (local.get $fd)))))
    (i32.store (i32.const 8262) (i32.add (i32.load (i32.const 8262)) (i32.const 1))))
  (func (export "on_input") (param i32 i32 i32 i32))
  (func (export "serialize_state") (result i32) (i32.const 8192))
  (data (i32.const 200) "hello.txt")
)
