package executor

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
)

// servePlay is GET /play/{instance}?ticket=JWT. Every refusal upgrades
// the connection first and then closes it with its code, because a browser
// cannot read the status of a failed upgrade.
func (ex *Executor) servePlay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instance")
	conn, err := ex.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered with an HTTP error
	}
	var player string
	var code protocol.CloseCode
	var detail string
	if h := r.URL.Query().Get("handover"); h != "" {
		player, code, detail = ex.checkHandover(h, id) // after a migration (migrate.go)
	} else {
		player, code, detail = ex.checkTicket(r.URL.Query().Get("ticket"), id)
	}
	if code != 0 {
		ex.refuse(conn, code, detail)
		return
	}
	in := ex.awaitStarted(r.Context(), id)
	if in == nil {
		ex.refuse(conn, protocol.CloseInstanceNotFound, "")
		return
	}
	s := newSession(ex, in, conn, player)
	s.delta = r.URL.Query().Get(protocol.DeltaQuery) == protocol.DeltaZstd
	resumed, code, detail := in.admit(s)
	if code != 0 {
		ex.refuse(conn, code, detail)
		return
	}
	s.log.Info("player connected", "resumed", resumed)
	ex.sessions.Add(1)
	ex.metrics.players.Inc()
	defer func() {
		close(s.done)
		in.detach(s)
		_ = conn.Close()
		ex.metrics.players.Dec()
		ex.sessions.Done()
		s.log.Info("player disconnected")
	}()
	go s.writeLoop()
	s.readLoop()
}

// checkTicket verifies a join ticket for instance id and returns its
// player, or the close code refusing it.
func (ex *Executor) checkTicket(token, id string) (player string, code protocol.CloseCode, detail string) {
	if token == "" {
		return "", protocol.CloseTicketMissing, ""
	}
	if ex.cfg.Verifier == nil {
		return "", protocol.CloseTicketInvalid, "this executor has no ticket key"
	}
	t, err := ex.cfg.Verifier.VerifyTicket(token, ex.cfg.ID, id)
	if err != nil {
		return "", ticketCloseCode(err), ""
	}
	if len(t.PlayerID) > protocol.MaxStringBytes {
		return "", protocol.CloseTicketInvalid, "player id too long"
	}
	return t.PlayerID, 0, ""
}

// ticketCloseCode maps auth's refusals to close codes.
func ticketCloseCode(err error) protocol.CloseCode {
	switch {
	case errors.Is(err, auth.ErrMissingToken):
		return protocol.CloseTicketMissing
	case errors.Is(err, auth.ErrMalformedToken):
		return protocol.CloseTicketMalformed
	case errors.Is(err, auth.ErrBadSignature), errors.Is(err, auth.ErrUnsupportedAlgorithm), errors.Is(err, auth.ErrUnknownKey):
		return protocol.CloseTicketForged
	case errors.Is(err, auth.ErrExpired):
		return protocol.CloseTicketExpired
	case errors.Is(err, auth.ErrTicketReused):
		return protocol.CloseTicketReused
	case errors.Is(err, auth.ErrWrongExecutor):
		return protocol.CloseTicketWrongExecutor
	case errors.Is(err, auth.ErrWrongInstance):
		return protocol.CloseTicketWrongInstance
	}
	return protocol.CloseTicketInvalid
}

// refuse closes a connection that was never admitted: an Error frame, the
// close frame, then a short wait for the client's close frame.
func (ex *Executor) refuse(conn *websocket.Conn, code protocol.CloseCode, detail string) {
	text := code.Reason(detail)
	ex.metrics.closes.WithLabelValues(code.String()).Inc()
	ex.log.Info("player refused", "code", uint16(code), "reason", text, "remote", conn.RemoteAddr().String())
	deadline := time.Now().Add(closeGrace)
	if msg, err := protocol.Encode(&protocol.Error{Code: code, Message: text}); err == nil {
		_ = conn.SetWriteDeadline(deadline)
		_ = conn.WriteMessage(websocket.BinaryMessage, msg)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(code), text), deadline)
	_ = conn.SetReadDeadline(deadline)
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	_ = conn.Close()
}
