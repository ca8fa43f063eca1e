package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Config is the instance configuration the host passes to init.
type Config struct {
	// InstanceID identifies the instance.
	InstanceID string
	// Game is the game's name.
	Game string
	// Version is the game version's name.
	Version string
	// Seed seeds every random choice of the game (see NewRand).
	Seed uint64
	// MaxPlayers is the largest number of players the host admits at once
	// (0 when the host sets no limit).
	MaxPlayers int
	// TickHz is the number of ticks per second.
	TickHz float64
	// Params is the spawn's game parameters, a JSON value, or nil when the
	// spawn gave none. Decode it with DecodeParams.
	Params json.RawMessage
}

// ParseConfig parses the JSON object the host passes to init. Unknown
// fields are ignored. Numbers may also be given as JSON strings (the seed
// in particular, for hosts that cannot write a 64-bit integer exactly), and
// version may be a number.
func ParseConfig(data []byte) (Config, error) {
	raw, ok := splitConfig(data)
	if !ok {
		if err := json.Unmarshal(data, &raw); err != nil {
			return Config{}, fmt.Errorf("parse config: %w", err)
		}
	}
	var cfg Config
	var err error
	if cfg.InstanceID, err = text(raw.InstanceID); err != nil {
		return Config{}, fmt.Errorf("parse config: instance_id: %w", err)
	}
	if cfg.Game, err = text(raw.Game); err != nil {
		return Config{}, fmt.Errorf("parse config: game: %w", err)
	}
	if cfg.Version, err = text(raw.Version); err != nil {
		return Config{}, fmt.Errorf("parse config: version: %w", err)
	}
	if cfg.Seed, err = uintField(raw.Seed, math.MaxUint64); err != nil {
		return Config{}, fmt.Errorf("parse config: seed: %w", err)
	}
	mp, err := uintField(raw.MaxPlayers, math.MaxInt32)
	if err != nil {
		return Config{}, fmt.Errorf("parse config: max_players: %w", err)
	}
	cfg.MaxPlayers = int(mp)
	if cfg.TickHz, err = floatField(raw.TickHz); err != nil {
		return Config{}, fmt.Errorf("parse config: tick_hz: %w", err)
	}
	if p := bytes.TrimSpace(raw.Params); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		cfg.Params = bytes.Clone(p)
	}
	return cfg, nil
}

// rawConfig is the configuration's members, as written.
type rawConfig struct {
	InstanceID json.RawMessage `json:"instance_id"`
	Game       json.RawMessage `json:"game"`
	Version    json.RawMessage `json:"version"`
	Seed       json.RawMessage `json:"seed"`
	MaxPlayers json.RawMessage `json:"max_players"`
	TickHz     json.RawMessage `json:"tick_hz"`
	Params     json.RawMessage `json:"params"`
}

// member returns the field of the member named key, nil for another name.
func (r *rawConfig) member(key []byte) *json.RawMessage {
	switch string(key) {
	case "instance_id":
		return &r.InstanceID
	case "game":
		return &r.Game
	case "version":
		return &r.Version
	case "seed":
		return &r.Seed
	case "max_players":
		return &r.MaxPlayers
	case "tick_hz":
		return &r.TickHz
	case "params":
		return &r.Params
	}
	return nil
}

// splitConfig splits a valid JSON object into the configuration's members
// as json.Unmarshal into rawConfig would (later members win), without its
// reflection: the configuration is parsed in every instance's init, which
// is most of what a start from an image runs (docs/snapshots.md). It
// reports false, for json.Unmarshal to decide, on invalid JSON, a value
// that is not an object, and any key that is not exactly a member's name
// but might match one as encoding/json matches names (ignoring case).
func splitConfig(data []byte) (rawConfig, bool) {
	var raw rawConfig
	if !json.Valid(data) {
		return raw, false
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return raw, false
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return raw, true
	}
	for {
		end := valueEnd(data, i) // the key, a string
		key := data[i+1 : end-1]
		dst := raw.member(key)
		if dst == nil && !unrelatedKey(key) {
			return raw, false
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		end = valueEnd(data, i)
		if dst != nil {
			*dst = data[i:end:end]
		}
		i = skipSpace(data, end)
		if data[i] == '}' {
			return raw, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// unrelatedKey reports whether a key that is not a member's name cannot
// match one either: ASCII, without escapes, equal to none ignoring case.
func unrelatedKey(key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf || c == '\\' {
			return false
		}
	}
	for _, name := range []string{"instance_id", "game", "version", "seed", "max_players", "tick_hz", "params"} {
		if strings.EqualFold(string(key), name) {
			return false
		}
	}
	return true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the JSON value at data[i], in valid JSON.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		for j := i + 1; ; j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch data[j] {
			case '"':
				j = valueEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[j])) {
		j++
	}
	return j
}

// DecodeParams decodes Params into v (a pointer, usually to a struct
// holding the defaults). Absent or null params leave v unchanged. Unknown
// fields are an error, so that a misspelt parameter fails the spawn rather
// than being silently ignored.
func (c Config) DecodeParams(v any) error {
	if len(c.Params) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.Params))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	if dec.More() {
		return errors.New("params: trailing data after the JSON value")
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// text reads a JSON string, or a number kept as written.
func text(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if raw[0] == '"' {
		return unquote(raw)
	}
	if isNumber(raw) {
		return string(raw), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", errors.New("want a string")
	}
	return n.String(), nil
}

// unquote reads the JSON string raw, which ParseConfig's decoding has
// checked. One without escapes in valid UTF-8 is its own bytes, which
// spares init a second decoding (docs/snapshots.md: a start from an image
// runs little more than init).
func unquote(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// isNumber reports whether raw, a JSON value ParseConfig's decoding has
// checked, is a number: its text is then the number as written.
func isNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// number reads a JSON number, or a string holding one, as its text.
func number(raw json.RawMessage) (string, error) {
	if raw[0] == '"' {
		return unquote(raw)
	}
	if isNumber(raw) {
		return string(raw), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", errors.New("want a number")
	}
	return n.String(), nil
}

func uintField(raw json.RawMessage, max uint64) (uint64, error) {
	if isNull(raw) {
		return 0, nil
	}
	s, err := number(raw)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Accept integral values written with a fraction or exponent.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f < 0 || f != math.Trunc(f) || f >= 0x1p64 || uint64(f) > max {
			return 0, fmt.Errorf("%q is not an integer from 0 to %d", s, max)
		}
		v = uint64(f)
	}
	if v > max {
		return 0, fmt.Errorf("%d is more than %d", v, max)
	}
	return v, nil
}

func floatField(raw json.RawMessage) (float64, error) {
	if isNull(raw) {
		return 0, nil
	}
	s, err := number(raw)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, fmt.Errorf("%q is not a non-negative number", s)
	}
	return f, nil
}
