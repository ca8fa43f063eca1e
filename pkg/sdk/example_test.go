package sdk_test

import (
	"encoding/binary"

	"github.com/rcc-games/rcc/pkg/sdk"
)

// counter is a minimal game: its state is the number of inputs received,
// as a little-endian u32.
type counter struct{ inputs uint32 }

func (c *counter) Init(cfg sdk.Config) error        { return nil }
func (c *counter) Join(player string)               {}
func (c *counter) Leave(player string)              {}
func (c *counter) Input(player string, data []byte) { c.inputs++ }
func (c *counter) Tick(dt float32)                  {}
func (c *counter) State(dst []byte) ([]byte, error) {
	return binary.LittleEndian.AppendUint32(dst, c.inputs), nil
}

// A game's main package registers its Game from an init function; built
// with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, the module
// then has every export of the guest ABI.
func ExampleRegister() {
	// In the game's main package:
	//
	//	func init() { sdk.Register(&counter{}) }
	//	func main() {}
	var _ sdk.Game = &counter{}
}

func ExampleNewRand() {
	cfg := sdk.Config{Seed: 42} // as received by Game.Init
	r := sdk.NewRand(cfg.Seed)
	_ = r.IntN(6) + 1 // the same roll on every run of this instance
}
