package sdk

import (
	"encoding/json"
	"testing"
)

// TestUnquoteAndNumberMatchJSON checks ParseConfig's shortcuts against
// encoding/json: a string without escapes is its own bytes, a number its
// own text, and anything else decodes as before.
func TestUnquoteAndNumberMatchJSON(t *testing.T) {
	for _, raw := range []string{`""`, `"arena"`, `"a b\tc"`, `"caf\u00e9"`, `"\"q\""`, "\"\xff\xfe\"", `"é"`, `"\\"`} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, err := unquote(json.RawMessage(raw))
		if err != nil || got != want {
			t.Errorf("unquote(%s) = %q, %v; encoding/json gives %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{`0`, `-1`, `12345678901234567890`, `1.5e3`, `-0.25`} {
		var want json.Number
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !isNumber(json.RawMessage(raw)) || raw != want.String() {
			t.Errorf("%s: isNumber %v, encoding/json's text %q", raw, isNumber(json.RawMessage(raw)), want.String())
		}
	}
	for _, raw := range []string{`true`, `{}`, `[]`, `"1"`} {
		if isNumber(json.RawMessage(raw)) {
			t.Errorf("isNumber(%s)", raw)
		}
	}
}

// FuzzSplitConfigMatchesJSON checks splitConfig against json.Unmarshal
// into rawConfig: where it answers, it gives the same members.
func FuzzSplitConfigMatchesJSON(f *testing.F) {
	for _, s := range []string{
		`{"instance_id":"i","game":"g","version":"1","seed":42,"max_players":8,"tick_hz":60,"params":{"a":1}}`,
		`{"instance_id":"i-1","game":"arena","version":"","seed":0,"max_players":16,"tick_hz":60,"params":{}}`,
		` { "seed" : "18446744073709551615" , "version":3,"params":null } `,
		`{"seed":1,"seed":2}`, `{"SEED":1}`, `{"Seed":1}`, `{"se\u0065d":5}`, `{"other":[1,{"x":"}"}],"game":"g"}`,
		`{"params":{"s":"a\"b}","n":[[]]},"game":"\u00e9"}`, `{}`, `[]`, `"x"`, `{"game":"g"`, `{"ſeed":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := splitConfig(data)
		if !ok {
			return
		}
		var want rawConfig
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("splitConfig accepted what json.Unmarshal refuses (%v): %q", err, data)
		}
		pairs := [][2]json.RawMessage{{got.InstanceID, want.InstanceID}, {got.Game, want.Game}, {got.Version, want.Version},
			{got.Seed, want.Seed}, {got.MaxPlayers, want.MaxPlayers}, {got.TickHz, want.TickHz}, {got.Params, want.Params}}
		for k, p := range pairs {
			if string(p[0]) != string(p[1]) {
				t.Fatalf("member %d of %q: splitConfig %q, json.Unmarshal %q", k, data, p[0], p[1])
			}
		}
	})
}
