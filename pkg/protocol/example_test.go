package protocol_test

import (
	"fmt"

	"github.com/rcc-games/rcc/pkg/protocol"
)

func Example() {
	// A client sends its input as one frame...
	msg, _ := protocol.Encode(&protocol.Input{Data: []byte{127, 0, 1}})
	fmt.Printf("% x\n", msg)

	// ...and decodes what the server sends.
	in := []byte{0x11, 42, 0, 0, 0, 0, 0, 0, 0, 'R', 'C', 'C', 'W'}
	f, err := protocol.Decode(in)
	if err != nil {
		panic(err)
	}
	switch f := f.(type) {
	case *protocol.State:
		fmt.Printf("frame %d, %d state bytes\n", f.Frame, len(f.Data))
	case *protocol.Error:
		fmt.Println("closing:", f.Code, f.Message)
	}

	url, _ := protocol.PlayURL("ws://127.0.0.1:7070", "inst-1", "TICKET")
	fmt.Println(url)
	fmt.Println(protocol.CloseTicketReused, uint16(protocol.CloseTicketReused))
	// Output:
	// 01 7f 00 01
	// frame 42, 4 state bytes
	// ws://127.0.0.1:7070/play/inst-1?ticket=TICKET
	// ticket_reused 4005
}
