use crate::{Config, Game};

/// MAX_ALLOC is the largest buffer `alloc` hands out: the guest's linear
/// memory is at most 64 MiB, so a larger request can only be a host bug.
pub const MAX_ALLOC: i32 = 64 << 20;

// Return codes of the init export, the same as the Go SDK's.
const INIT_OK: i32 = 0;
const INIT_BAD_CONFIG: i32 = 2;
const INIT_FAILED: i32 = 3;
const INIT_TWICE: i32 = 4;

/// Guest holds the SDK's state between calls from the host and implements
/// the exports that [`crate::export_game!`] defines; it is public only for
/// that macro.
pub struct Guest {
    game: Box<dyn Game>,
    name: String,
    inited: bool,
    /// The buffer alloc hands out, reused across calls.
    args: Vec<u8>,
    /// What the game's state method appends to, reused across frames.
    body: Vec<u8>,
    /// The length prefix and the state, reused across frames.
    out: Vec<u8>,
}

impl Guest {
    /// Returns the guest of `game`.
    pub fn new(game: Box<dyn Game>) -> Guest {
        Guest { game, name: "game".into(), inited: false, args: Vec::new(), body: Vec::new(), out: Vec::new() }
    }

    /// Implements alloc: `len` bytes at the start of the reused argument
    /// buffer, or 0 when `len` is out of range.
    pub fn alloc(&mut self, len: i32) -> i32 {
        if !(0..=MAX_ALLOC).contains(&len) {
            return 0;
        }
        let n = len as usize;
        if self.args.len() < n || self.args.is_empty() {
            let c = n.max((2 * self.args.len()).min(MAX_ALLOC as usize)).max(256);
            self.args = vec![0; c];
        }
        self.args.as_mut_ptr() as usize as i32
    }

    /// Returns the `len` bytes at `ptr`, which must lie inside the buffer
    /// alloc returned.
    fn arg<'a>(args: &'a [u8], call: &str, what: &str, ptr: i32, len: i32) -> &'a [u8] {
        if len == 0 {
            return &[];
        }
        let base = args.as_ptr() as usize;
        let (p, n) = (ptr as u32 as usize, len as u32 as usize);
        if len < 0 || p < base || p - base > args.len() || n > args.len() - (p - base) {
            panic!(
                "rcc-sdk: {call}: {what} of {len} bytes at {p:#x} is outside the buffer alloc returned ({} bytes at {base:#x})",
                args.len()
            );
        }
        &args[p - base..p - base + n]
    }

    fn player<'a>(call: &str, b: &'a [u8]) -> Option<&'a str> {
        match std::str::from_utf8(b) {
            Ok(s) => Some(s),
            Err(_) => {
                eprintln!("rcc-sdk: {call}: player id is not UTF-8; ignored");
                None
            }
        }
    }

    fn must_init(&self, call: &str) {
        if !self.inited {
            panic!("rcc-sdk: {call} called before a successful init");
        }
    }

    /// Implements init: parses the configuration and calls Game::init,
    /// writing failures to stderr (the instance's log).
    pub fn init(&mut self, ptr: i32, len: i32) -> i32 {
        if self.inited {
            eprintln!("rcc-sdk: init: called twice");
            return INIT_TWICE;
        }
        let data = Self::arg(&self.args, "init", "config", ptr, len);
        let cfg = match Config::parse(data) {
            Ok(cfg) => cfg,
            Err(err) => {
                eprintln!("rcc-sdk: init: {err}");
                return INIT_BAD_CONFIG;
            }
        };
        if !cfg.game.is_empty() {
            self.name = cfg.game.clone();
        }
        if let Err(err) = self.game.init(&cfg) {
            eprintln!("{}: init: {err}", self.name);
            return INIT_FAILED;
        }
        self.inited = true;
        INIT_OK
    }

    /// Implements on_join.
    pub fn join(&mut self, ptr: i32, len: i32) {
        self.must_init("on_join");
        if let Some(p) = Self::player("on_join", Self::arg(&self.args, "on_join", "player id", ptr, len)) {
            self.game.join(p);
        }
    }

    /// Implements on_leave.
    pub fn leave(&mut self, ptr: i32, len: i32) {
        self.must_init("on_leave");
        if let Some(p) = Self::player("on_leave", Self::arg(&self.args, "on_leave", "player id", ptr, len)) {
            self.game.leave(p);
        }
    }

    /// Implements on_input.
    pub fn input(&mut self, p_ptr: i32, p_len: i32, i_ptr: i32, i_len: i32) {
        self.must_init("on_input");
        let p = Self::arg(&self.args, "on_input", "player id", p_ptr, p_len);
        let data = Self::arg(&self.args, "on_input", "input", i_ptr, i_len);
        if let Some(p) = Self::player("on_input", p) {
            self.game.input(p, data);
        }
    }

    /// Implements tick: the game sees the step in seconds.
    pub fn tick(&mut self, dt_ms: f32) {
        self.must_init("tick");
        self.game.tick(dt_ms / 1000.0);
    }

    /// Implements serialize_state: the length-prefixed state, in a buffer
    /// reused across frames and valid until the next call.
    pub fn serialize(&mut self) -> *const u8 {
        self.must_init("serialize_state");
        self.body.clear();
        if let Err(err) = self.game.state(&mut self.body) {
            panic!("rcc-sdk: serialize_state: {err}");
        }
        if self.body.len() > MAX_ALLOC as usize {
            panic!("rcc-sdk: serialize_state: state of {} bytes, more than {MAX_ALLOC}", self.body.len());
        }
        self.out.clear();
        self.out.extend_from_slice(&(self.body.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&self.body);
        self.out.as_ptr()
    }
}
