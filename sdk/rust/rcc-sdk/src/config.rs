use std::fmt;

/// Config is the instance configuration the host passes to init.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Identifies the instance.
    pub instance_id: String,
    /// The game's name.
    pub game: String,
    /// The game version's name.
    pub version: String,
    /// Seeds every random choice of the game (see [`crate::Rng`]).
    pub seed: u64,
    /// The largest number of players the host admits at once (0 when the
    /// host sets no limit).
    pub max_players: u32,
    /// Ticks per second.
    pub tick_hz: f64,
    /// The spawn's game parameters as JSON text, or None when the spawn
    /// gave none.
    pub params: Option<String>,
}

/// ConfigError says why the init configuration could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parse config: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses the JSON object the host passes to init. Unknown fields are
    /// ignored; numbers may also be given as JSON strings (the seed in
    /// particular), and version may be a number, as the Go SDK allows.
    pub fn parse(data: &[u8]) -> Result<Config, ConfigError> {
        let mut p = Parser { b: data, i: 0 };
        p.ws();
        if p.peek() != Some(b'{') {
            return Err(p.err("want a JSON object"));
        }
        p.i += 1;
        let mut cfg = Config::default();
        p.ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
        } else {
            loop {
                p.ws();
                let key = p.string()?;
                p.ws();
                p.expect(b':')?;
                p.ws();
                let start = p.i;
                let v = p.value()?;
                let field = |e: ConfigError| ConfigError(format!("{key}: {}", e.0));
                match key.as_str() {
                    "instance_id" => cfg.instance_id = v.text().map_err(field)?,
                    "game" => cfg.game = v.text().map_err(field)?,
                    "version" => cfg.version = v.text().map_err(field)?,
                    "seed" => cfg.seed = v.uint(u64::MAX).map_err(field)?,
                    "max_players" => cfg.max_players = v.uint(u32::MAX as u64).map_err(field)? as u32,
                    "tick_hz" => cfg.tick_hz = v.float().map_err(field)?,
                    "params" => {
                        if !matches!(v, Value::Null) {
                            cfg.params = Some(String::from_utf8_lossy(&data[start..p.i]).into_owned());
                        }
                    }
                    _ => {}
                }
                p.ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b'}') => {
                        p.i += 1;
                        break;
                    }
                    _ => return Err(p.err("want , or }")),
                }
            }
        }
        p.ws();
        if p.i != data.len() {
            return Err(p.err("trailing data after the object"));
        }
        Ok(cfg)
    }
}

/// One JSON value, as much as Config needs of it.
enum Value {
    Null,
    Bool,
    Str(String),
    Num(String),
    Composite,
}

impl Value {
    fn text(self) -> Result<String, ConfigError> {
        match self {
            Value::Str(s) | Value::Num(s) => Ok(s),
            Value::Null => Ok(String::new()),
            _ => Err(ConfigError("want a string".into())),
        }
    }

    fn number(self) -> Result<Option<String>, ConfigError> {
        match self {
            Value::Str(s) | Value::Num(s) => Ok(Some(s)),
            Value::Null => Ok(None),
            _ => Err(ConfigError("want a number".into())),
        }
    }

    fn uint(self, max: u64) -> Result<u64, ConfigError> {
        let Some(s) = self.number()? else { return Ok(0) };
        match s.parse::<u64>() {
            Ok(v) if v <= max => Ok(v),
            _ => Err(ConfigError(format!("{s:?} is not an integer from 0 to {max}"))),
        }
    }

    fn float(self) -> Result<f64, ConfigError> {
        let Some(s) = self.number()? else { return Ok(0.0) };
        s.parse::<f64>().map_err(|_| ConfigError(format!("{s:?} is not a number")))
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> ConfigError {
        ConfigError(format!("{what} at offset {}", self.i))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ConfigError> {
        if self.peek() != Some(c) {
            return Err(self.err(&format!("want {}", c as char)));
        }
        self.i += 1;
        Ok(())
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, ConfigError> {
        if !self.b[self.i..].starts_with(word.as_bytes()) {
            return Err(self.err("invalid JSON value"));
        }
        self.i += word.len();
        Ok(v)
    }

    fn value(&mut self) -> Result<Value, ConfigError> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool),
            Some(b'f') => self.literal("false", Value::Bool),
            Some(b'{') | Some(b'[') => self.composite(),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.i += 1;
                }
                Ok(Value::Num(String::from_utf8_lossy(&self.b[start..self.i]).into_owned()))
            }
            _ => Err(self.err("invalid JSON value")),
        }
    }

    /// Skips an object or an array, strings and nesting included.
    fn composite(&mut self) -> Result<Value, ConfigError> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(Value::Composite);
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err(self.err("unterminated object or array"))
    }

    fn string(&mut self) -> Result<String, ConfigError> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else { return Err(self.err("unterminated string")) };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { return Err(self.err("unterminated string")) };
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) && self.b[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, ConfigError> {
        let h = self.b.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let s = std::str::from_utf8(h).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_host_config() {
        let cfg = Config::parse(
            br#"{"instance_id":"i-1","game":"tag","version":"v2","seed":18446744073709551615,"max_players":8,"tick_hz":60,"params":{"arena":{"size":[1,2]},"name":"a\"}"}}"#,
        )
        .unwrap();
        assert_eq!(cfg.instance_id, "i-1");
        assert_eq!(cfg.game, "tag");
        assert_eq!(cfg.version, "v2");
        assert_eq!(cfg.seed, u64::MAX);
        assert_eq!(cfg.max_players, 8);
        assert_eq!(cfg.tick_hz, 60.0);
        assert_eq!(cfg.params.as_deref(), Some(r#"{"arena":{"size":[1,2]},"name":"a\"}"}"#));
    }

    #[test]
    fn accepts_strings_for_numbers_and_ignores_unknown_fields() {
        let cfg = Config::parse(br#" { "seed" : "42", "version": 3, "extra": [true, null], "params": null } "#).unwrap();
        assert_eq!(cfg.seed, 42);
        assert_eq!(cfg.version, "3");
        assert_eq!(cfg.params, None);
        assert_eq!(Config::parse(b"{}").unwrap(), Config::default());
        assert_eq!(Config::parse(br#"{"game":"b\u00f6 \ud83d\ude00"}"#).unwrap().game, "bö 😀");
    }

    #[test]
    fn rejects_bad_configs() {
        for (input, want) in [
            (&b"[]"[..], "want a JSON object"),
            (b"{\"seed\":-1}", "seed"),
            (b"{\"seed\":18446744073709551616}", "seed"),
            (b"{\"max_players\":4294967296}", "max_players"),
            (b"{\"game\":{}}", "game: want a string"),
            (b"{\"game\":\"x\"", "want , or }"),
            (b"{} x", "trailing data"),
            (b"{\"game\":\"x", "unterminated string"),
        ] {
            let err = Config::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{}: {err}, want {want}", String::from_utf8_lossy(input));
        }
    }
}
