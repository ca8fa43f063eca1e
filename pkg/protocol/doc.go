// Package protocol is the wire protocol between players and an RCC executor:
// the WebSocket frames, their encoding, the close codes and the limits.
//
// It is public API: the executor, rcc-view, the load tool and any other
// client import it. It depends on the standard library and, for Delta
// frames, klauspost/compress's zstd. The reference, byte by byte, is
// docs/protocol.md.
//
// A player connects with a GET upgrade to
//
//	ws://HOST:PORT/play/{instance}?ticket={JWT}
//
// where the ticket is the single-use join ticket the coordinator's Join
// returned ([PlayURL] builds the URL). Every WebSocket message is a binary
// message holding exactly one frame: one type byte, then the payload. The
// client sends [Input] frames; the server sends one [Welcome], then [State]
// after every tick, [PlayerJoined] and [PlayerLeft] as the roster changes,
// and [Error] before it closes the connection with one of the close codes
// ([CloseCode]), whose reason text names the refusal.
//
// A client that adds [DeltaQuery]=[DeltaZstd] to the URL gets [Delta]
// frames in place of [State]: each state as the XOR with the last state
// the server sent it, compressed ([DeltaEncoder], [DeltaDecoder]).
//
// After a hot upgrade of the instance is kept, or rolled back, the server
// sends every player a [VersionChanged] frame with the game version the
// instance runs from then on.
//
// Encode a frame with [Append] or [Encode]; decode with [Decode], which
// never panics on untrusted input and returns an error wrapping
// [ErrMalformed] or [ErrTooLarge].
package protocol
