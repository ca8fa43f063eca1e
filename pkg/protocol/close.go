package protocol

import (
	"fmt"
	"strings"
)

// CloseCode is a WebSocket close code the server uses. Every refusal and
// every end of a session has its own code in the 4000–4999 range (reserved
// by RFC 6455 for applications); the close frame's reason text starts with
// the code's name ([CloseCode.String]) and may add ": " and a detail.
type CloseCode uint16

// The server's close codes. 1000 (normal closure) is only used when the
// client closes first.
const (
	// Ticket refusals: the connection is upgraded, then closed at once.

	// CloseTicketMissing: no ticket query parameter.
	CloseTicketMissing CloseCode = 4001
	// CloseTicketMalformed: the ticket is not a well-formed JWT.
	CloseTicketMalformed CloseCode = 4002
	// CloseTicketForged: the signature does not verify, or the token is not
	// signed with Ed25519.
	CloseTicketForged CloseCode = 4003
	// CloseTicketExpired: the ticket's expiry has passed.
	CloseTicketExpired CloseCode = 4004
	// CloseTicketReused: the ticket was already used once.
	CloseTicketReused CloseCode = 4005
	// CloseTicketWrongExecutor: the ticket was issued for another executor.
	CloseTicketWrongExecutor CloseCode = 4006
	// CloseTicketWrongInstance: the ticket was issued for another instance.
	CloseTicketWrongInstance CloseCode = 4007
	// CloseTicketInvalid: any other refusal of the ticket (not yet valid,
	// wrong issuer or audience, a role token, a missing claim).
	CloseTicketInvalid CloseCode = 4008

	// Instance refusals.

	// CloseInstanceNotFound: no instance with that id runs on this executor.
	CloseInstanceNotFound CloseCode = 4010
	// CloseInstanceFull: the instance has MaxPlayers players already.
	CloseInstanceFull CloseCode = 4011
	// CloseInstanceNotRunning: the instance exists but is starting or
	// stopping.
	CloseInstanceNotRunning CloseCode = 4012

	// Session ends caused by the client.

	// CloseMalformedFrame: a text message, an empty message, a frame of an
	// unknown or server-only type.
	CloseMalformedFrame CloseCode = 4020
	// CloseFrameTooLarge: a frame over 1 + MaxInputBytes bytes.
	CloseFrameTooLarge CloseCode = 4021
	// CloseInputRate: inputs far over the rate limit for too long.
	CloseInputRate CloseCode = 4022
	// CloseTooSlow: the client read state frames too slowly and fell too
	// far behind.
	CloseTooSlow CloseCode = 4023
	// CloseReplaced: the same player connected again; this older
	// connection is closed, the player stays in the game.
	CloseReplaced CloseCode = 4024
	// CloseIdle: the client answered no ping for too long.
	CloseIdle CloseCode = 4025

	// Ends of the instance or the executor.

	// CloseInstanceStopped: the instance was stopped (by an operator, its
	// lease, the coordinator); the reason text carries why.
	CloseInstanceStopped CloseCode = 4030
	// CloseInstanceFailed: the game failed in the sandbox; the reason text
	// is "instance_failed: " and the sandbox's reason (trap,
	// deadline_exceeded, fuel_exhausted, out_of_memory, ...), then its
	// detail.
	CloseInstanceFailed CloseCode = 4031
	// CloseExecutorShutdown: the executor is shutting down.
	CloseExecutorShutdown CloseCode = 4032
	// CloseMigrated: the instance moved to another executor; a client
	// that read the Migrate frame before it has already gone there.
	CloseMigrated CloseCode = 4033
	// CloseInternal: an unexpected server error.
	CloseInternal CloseCode = 4099
)

var closeNames = map[CloseCode]string{
	CloseTicketMissing:       "ticket_missing",
	CloseTicketMalformed:     "ticket_malformed",
	CloseTicketForged:        "ticket_forged",
	CloseTicketExpired:       "ticket_expired",
	CloseTicketReused:        "ticket_reused",
	CloseTicketWrongExecutor: "ticket_wrong_executor",
	CloseTicketWrongInstance: "ticket_wrong_instance",
	CloseTicketInvalid:       "ticket_invalid",
	CloseInstanceNotFound:    "instance_not_found",
	CloseInstanceFull:        "instance_full",
	CloseInstanceNotRunning:  "instance_not_running",
	CloseMalformedFrame:      "malformed_frame",
	CloseFrameTooLarge:       "frame_too_large",
	CloseInputRate:           "input_rate",
	CloseTooSlow:             "too_slow",
	CloseReplaced:            "replaced",
	CloseIdle:                "idle",
	CloseInstanceStopped:     "instance_stopped",
	CloseInstanceFailed:      "instance_failed",
	CloseExecutorShutdown:    "executor_shutdown",
	CloseMigrated:            "migrated",
	CloseInternal:            "internal_error",
}

// CloseCodes returns every close code the server uses, in ascending order.
func CloseCodes() []CloseCode {
	codes := make([]CloseCode, 0, len(closeNames))
	for c := CloseCode(4000); c < 5000; c++ {
		if _, ok := closeNames[c]; ok {
			codes = append(codes, c)
		}
	}
	return codes
}

// String returns the code's name, such as "ticket_expired".
func (c CloseCode) String() string {
	if n, ok := closeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("close(%d)", uint16(c))
}

// Error returns the code's name, as String does. A CloseCode is an error so
// that a client's error for a closed connection can match a code with
// errors.Is (pkg/play's CloseError does), like syscall.Errno.
func (c CloseCode) Error() string { return c.String() }

// Reason returns the close frame reason text for c with an optional
// detail: the code's name, then ": " and the detail, cut to
// MaxCloseReasonBytes.
func (c CloseCode) Reason(detail string) string {
	if detail == "" {
		return c.String()
	}
	return TruncateReason(c.String() + ": " + detail)
}

// ParseReason splits a close reason text into the code's name and the
// detail after ": ".
func ParseReason(text string) (name, detail string) {
	name, detail, _ = strings.Cut(text, ": ")
	return name, detail
}
