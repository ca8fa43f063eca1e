package sdk

import "testing"

// FuzzParseConfig checks that any configuration bytes either parse or fail
// with an error, and that parsed params decode without panicking.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"instance_id":"i","game":"g","version":"1","seed":42,"max_players":8,"tick_hz":60,"params":{"a":1}}`))
	f.Add([]byte(`{"seed":"18446744073709551615","version":3,"params":null}`))
	f.Add([]byte(`{"seed":1e19}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return
		}
		var v any
		_ = cfg.DecodeParams(&v)
		if cfg.MaxPlayers < 0 || cfg.TickHz < 0 {
			t.Fatalf("negative field accepted: %+v", cfg)
		}
	})
}
