//! Write RCC games in Rust.
//!
//! An RCC game is a WebAssembly module (wasm32-wasip1, a `cdylib`) with the
//! exports of the guest ABI v1 (docs/abi.md). This crate gives a Rust game
//! what the Go SDK (pkg/sdk) gives a Go one:
//!
//! - [`Game`], the author's side: init, join, leave, input, tick, state;
//! - [`export_game!`], which defines the raw exports with exactly the
//!   seed's signatures (`init(ptr: i32, len: i32) -> i32`, `tick(dt_ms:
//!   f32)`, `on_input(p_ptr, p_len, i_ptr, i_len)`, `serialize_state() ->
//!   *const u8`) plus RCC's `alloc`, `on_join` and `on_leave`;
//! - [`Config`], the instance configuration init receives;
//! - [`world`], the world snapshot codec, byte for byte the one of
//!   pkg/world, so that rcc-view renders the game with no game code;
//! - [`Rng`], a small deterministic generator for seeded choices.
//!
//! ```ignore
//! use rcc_sdk::{Config, Game};
//! #[derive(Default)]
//! struct Counter { n: u64 }
//! impl Game for Counter {
//!     fn init(&mut self, _cfg: &Config) -> Result<(), String> { Ok(()) }
//!     fn tick(&mut self, _dt: f32) { self.n += 1; }
//!     fn state(&mut self, dst: &mut Vec<u8>) -> Result<(), String> {
//!         dst.extend_from_slice(&self.n.to_le_bytes());
//!         Ok(())
//!     }
//! }
//! rcc_sdk::export_game!(Counter::default());
//! ```
//!
//! The crate has no dependencies beyond std, so it builds with no registry.

mod config;
mod guest;
mod rng;
pub mod world;

pub use config::{Config, ConfigError};
pub use guest::{Guest, MAX_ALLOC};
pub use rng::Rng;

/// Game is the author's side of the guest ABI. The exports call its
/// methods one at a time, in the host's order: `init` once, then for every
/// frame the joins and leaves, the inputs in arrival order, `tick` and
/// `state`.
pub trait Game {
    /// Receives the instance's configuration, before any other call. An
    /// error fails the instance; its text goes to the instance's log.
    fn init(&mut self, cfg: &Config) -> Result<(), String>;
    /// Adds a player. A game should treat a repeated id as the same player.
    fn join(&mut self, _player: &str) {}
    /// Removes a player.
    fn leave(&mut self, _player: &str) {}
    /// Delivers one input message of a player. `data` is only valid during
    /// the call, and comes from a client: it may be anything.
    fn input(&mut self, _player: &str, _data: &[u8]) {}
    /// Advances the game by `dt` seconds, the instance's fixed step.
    fn tick(&mut self, dt: f32);
    /// Appends the game's current state to `dst` (empty, with the capacity
    /// earlier frames needed). An error fails the instance.
    fn state(&mut self, dst: &mut Vec<u8>) -> Result<(), String>;
}

/// Defines the guest ABI's exports for the game made by `$new` (an
/// expression, evaluated once, on the host's first call). Use it once, in
/// the game's `cdylib` crate:
///
/// ```ignore
/// rcc_sdk::export_game!(MyGame::default());
/// ```
///
/// The exports have exactly the seed's signatures.
#[macro_export]
macro_rules! export_game {
    ($new:expr) => {
        ::std::thread_local! {
            static RCC_GUEST: ::core::cell::RefCell<$crate::Guest> =
                ::core::cell::RefCell::new($crate::Guest::new(::std::boxed::Box::new($new)));
        }

        /// Returns a pointer to `len` bytes the host writes call arguments to.
        #[no_mangle]
        pub extern "C" fn alloc(len: i32) -> i32 {
            RCC_GUEST.with(|g| g.borrow_mut().alloc(len))
        }

        /// Receives the instance configuration (JSON); 0 is success.
        #[no_mangle]
        pub extern "C" fn init(ptr: i32, len: i32) -> i32 {
            RCC_GUEST.with(|g| g.borrow_mut().init(ptr, len))
        }

        /// Adds a player.
        #[no_mangle]
        pub extern "C" fn on_join(p_ptr: i32, p_len: i32) {
            RCC_GUEST.with(|g| g.borrow_mut().join(p_ptr, p_len))
        }

        /// Removes a player.
        #[no_mangle]
        pub extern "C" fn on_leave(p_ptr: i32, p_len: i32) {
            RCC_GUEST.with(|g| g.borrow_mut().leave(p_ptr, p_len))
        }

        /// Delivers one input of a player.
        #[no_mangle]
        pub extern "C" fn on_input(p_ptr: i32, p_len: i32, i_ptr: i32, i_len: i32) {
            RCC_GUEST.with(|g| g.borrow_mut().input(p_ptr, p_len, i_ptr, i_len))
        }

        /// Advances the game by the fixed step, in milliseconds.
        #[no_mangle]
        pub extern "C" fn tick(dt_ms: f32) {
            RCC_GUEST.with(|g| g.borrow_mut().tick(dt_ms))
        }

        /// Returns a pointer to a u32 little-endian length and the state.
        #[no_mangle]
        pub extern "C" fn serialize_state() -> *const u8 {
            RCC_GUEST.with(|g| g.borrow_mut().serialize())
        }
    };
}
