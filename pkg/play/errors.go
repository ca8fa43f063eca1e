package play

import (
	"errors"
	"fmt"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/protocol"
)

// Errors of a Session.
var (
	// ErrClosed is returned by Send on a session that has ended, and by
	// Err after Close.
	ErrClosed = errors.New("play session closed")
	// ErrNoTicket is what a TicketSource returns when it has no ticket
	// left (a URL's single ticket was spent): the session does not
	// reconnect.
	ErrNoTicket = errors.New("no ticket left to reconnect with")
	// ErrConnectionLost wraps the error of a connection that ended with
	// no close frame from the server (the network dropped it, or the
	// server went silent past Config.ReadTimeout).
	ErrConnectionLost = errors.New("connection lost")
)

// CloseError is the server closing the connection, or refusing it, with a
// close code and reason (docs/protocol.md, "Close codes"). errors.Is
// matches it against the code: errors.Is(err, protocol.CloseInstanceFailed).
type CloseError struct {
	// Code is the close code.
	Code protocol.CloseCode
	// Name is the code's name from the reason text (instance_failed), or
	// the code's own name when the text was empty.
	Name string
	// Detail is the rest of the reason text after "name: ", such as
	// "fuel_exhausted in tick: spent its budget of 20000000 fuel".
	Detail string
}

// Error returns "closed by the server: 4031 instance_failed: fuel_exhausted ...".
func (e *CloseError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("closed by the server: %d %s", uint16(e.Code), e.Name)
	}
	return fmt.Sprintf("closed by the server: %d %s: %s", uint16(e.Code), e.Name, e.Detail)
}

// Reason returns the close reason as the server wrote it: the name, then
// ": " and the detail when there is one.
func (e *CloseError) Reason() string {
	if e.Detail == "" {
		return e.Name
	}
	return e.Name + ": " + e.Detail
}

// Is reports whether target is e's close code.
func (e *CloseError) Is(target error) bool {
	c, ok := target.(protocol.CloseCode)
	return ok && c == e.Code
}

// newCloseError builds a CloseError from a code and reason text.
func newCloseError(code protocol.CloseCode, text string) *CloseError {
	name, detail := protocol.ParseReason(text)
	if name == "" {
		name = code.String()
	}
	return &CloseError{Code: code, Name: name, Detail: detail}
}

// connError turns the error that ended a connection into the session's:
// a *CloseError when the server sent a close frame (or, failing that, an
// Error frame), ErrConnectionLost otherwise.
func connError(err error, errFrame *protocol.Error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure && ce.Code != websocket.CloseNoStatusReceived {
		return newCloseError(protocol.CloseCode(ce.Code), ce.Text)
	}
	if errFrame != nil {
		return newCloseError(errFrame.Code, errFrame.Message)
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

// retryable reports whether a session whose connection ended with err may
// reconnect with a fresh ticket. Refusals that a new ticket cannot change
// (the instance failed or was stopped, another connection took over, the
// client broke the protocol, the ticket itself is wrong) end the session.
func retryable(err error) bool {
	var ce *CloseError
	if !errors.As(err, &ce) {
		return errors.Is(err, ErrConnectionLost)
	}
	switch ce.Code {
	case protocol.CloseTooSlow, protocol.CloseIdle, protocol.CloseExecutorShutdown, protocol.CloseInternal, protocol.CloseMigrated,
		protocol.CloseInstanceNotFound, protocol.CloseInstanceNotRunning, protocol.CloseInstanceFull,
		protocol.CloseTicketExpired, protocol.CloseTicketReused:
		return true
	}
	return false
}
