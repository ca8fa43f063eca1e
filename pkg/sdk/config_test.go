package sdk

import (
	"math"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
		err  string
	}{
		{
			name: "full",
			in:   `{"instance_id":"inst-1","game":"arena","version":"v3","seed":42,"max_players":16,"tick_hz":60,"params":{"orbs":4}}`,
			want: Config{InstanceID: "inst-1", Game: "arena", Version: "v3", Seed: 42, MaxPlayers: 16, TickHz: 60, Params: []byte(`{"orbs":4}`)},
		},
		{name: "empty object", in: `{}`, want: Config{}},
		{name: "unknown fields ignored", in: `{"seed":1,"labels":{"a":"b"}}`, want: Config{Seed: 1}},
		{name: "largest seed", in: `{"seed":18446744073709551615}`, want: Config{Seed: math.MaxUint64}},
		{name: "seed as string", in: `{"seed":"18446744073709551615"}`, want: Config{Seed: math.MaxUint64}},
		{name: "integral float", in: `{"seed":1e3,"max_players":8.0}`, want: Config{Seed: 1000, MaxPlayers: 8}},
		{name: "version number", in: `{"version":3}`, want: Config{Version: "3"}},
		{name: "fractional tick rate", in: `{"tick_hz":59.94}`, want: Config{TickHz: 59.94}},
		{name: "null params", in: `{"params":null}`, want: Config{}},
		{name: "nulls", in: `{"game":null,"seed":null}`, want: Config{}},
		{name: "params array", in: `{"params":[1, 2]}`, want: Config{Params: []byte(`[1, 2]`)}},
		{name: "not json", in: `seed=1`, err: "parse config"},
		{name: "not an object", in: `[1]`, err: "parse config"},
		{name: "negative seed", in: `{"seed":-1}`, err: "seed"},
		{name: "fractional seed", in: `{"seed":1.5}`, err: "seed"},
		{name: "seed too large", in: `{"seed":18446744073709551616}`, err: "seed"},
		{name: "seed not a number", in: `{"seed":"abc"}`, err: "seed"},
		{name: "seed object", in: `{"seed":{}}`, err: "seed"},
		{name: "max players too large", in: `{"max_players":1e12}`, err: "max_players"},
		{name: "negative tick rate", in: `{"tick_hz":-60}`, err: "tick_hz"},
		{name: "game not a string", in: `{"game":[]}`, err: "game"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.InstanceID != tt.want.InstanceID || got.Game != tt.want.Game || got.Version != tt.want.Version ||
				got.Seed != tt.want.Seed || got.MaxPlayers != tt.want.MaxPlayers || got.TickHz != tt.want.TickHz ||
				string(got.Params) != string(tt.want.Params) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeParams(t *testing.T) {
	type params struct {
		Orbs  int     `json:"orbs"`
		Speed float64 `json:"speed"`
	}
	tests := []struct {
		name   string
		params string
		want   params
		err    string
	}{
		{name: "absent keeps defaults", params: "", want: params{Orbs: 8, Speed: 1}},
		{name: "partial", params: `{"orbs":3}`, want: params{Orbs: 3, Speed: 1}},
		{name: "unknown field", params: `{"orbz":3}`, err: `unknown field "orbz"`},
		{name: "wrong type", params: `{"orbs":"many"}`, err: "params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.params != "" {
				cfg.Params = []byte(tt.params)
			}
			p := params{Orbs: 8, Speed: 1}
			err := cfg.DecodeParams(&p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p != tt.want {
				t.Fatalf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}
