package auth

import (
	"errors"
	"testing"
	"time"
)

func TestGrant(t *testing.T) {
	f := newFixture(t)
	grant := func(t *testing.T, req GrantRequest) string {
		t.Helper()
		tok, g, err := f.issuer.Grant(req)
		if err != nil {
			t.Fatal(err)
		}
		if g.ExpiresAt != t0.Add(DefaultGrantTTL) || g.ID == "" {
			t.Fatalf("grant = %+v", g)
		}
		return string(tok)
	}
	req := GrantRequest{Subject: "alice@ops", Action: ActionInputLog, InstanceID: "i1", ExecutorID: "e1"}
	tok := grant(t, req)
	g, err := f.verifier.VerifyGrant(tok, "e1", "i1", ActionInputLog)
	if err != nil || g.Subject != "alice@ops" || g.Action != ActionInputLog {
		t.Fatalf("VerifyGrant = %+v, %v", g, err)
	}
	if _, err := f.verifier.VerifyGrant(tok, "e1", "i1", ActionInputLog); !errors.Is(err, ErrTicketReused) {
		t.Fatalf("second use: %v, want %v", err, ErrTicketReused)
	}
	// A grant is no role token and no ticket: an executor that receives
	// one cannot call the coordinator or admit a player with it.
	if _, err := f.verifier.Verify(grant(t, req)); !errors.Is(err, ErrNotRoleToken) {
		t.Fatalf("grant as a role token: %v", err)
	}
	if _, err := f.verifier.VerifyTicket(grant(t, req), "e1", "i1"); !errors.Is(err, ErrNotTicket) {
		t.Fatalf("grant as a ticket: %v", err)
	}
	for _, tc := range []struct {
		name               string
		token              string
		executor, instance string
		action             Action
		want               error
	}{
		{"admin token", roleToken(t, f.issuer, RoleAdmin, time.Hour), "e1", "i1", ActionInputLog, ErrNotGrant},
		{"ticket", ticket(t, f.issuer, defaultTicket), "e1", "i1", ActionInputLog, ErrNotGrant},
		{"other executor", grant(t, req), "e2", "i1", ActionInputLog, ErrWrongExecutor},
		{"other instance", grant(t, req), "e1", "i2", ActionInputLog, ErrWrongInstance},
		{"other action", grant(t, req), "e1", "i1", "delete", ErrWrongAction},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.verifier.VerifyGrant(tc.token, tc.executor, tc.instance, tc.action); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	for _, bad := range []GrantRequest{{Action: ActionInputLog, InstanceID: "i", ExecutorID: "e"}, {Subject: "s", InstanceID: "i", ExecutorID: "e"},
		{Subject: "s", Action: ActionInputLog, ExecutorID: "e"}, {Subject: "s", Action: ActionInputLog, InstanceID: "i", ExecutorID: "e", TTL: time.Hour}} {
		if _, _, err := f.issuer.Grant(bad); err == nil {
			t.Errorf("Grant(%+v) issued", bad)
		}
	}
}

// TestRefusedTicketIsSpent: a ticket presented at the wrong executor or for
// the wrong instance is spent all the same (docs/protocol.md), so it cannot
// be tried again where it would be accepted.
func TestRefusedTicketIsSpent(t *testing.T) {
	f := newFixture(t)
	for _, where := range [][2]string{{"e2", "i1"}, {"e1", "i2"}} {
		tok := ticket(t, f.issuer, defaultTicket)
		if _, err := f.verifier.VerifyTicket(tok, where[0], where[1]); err == nil {
			t.Fatalf("accepted at %v", where)
		}
		if _, err := f.verifier.VerifyTicket(tok, "e1", "i1"); !errors.Is(err, ErrTicketReused) {
			t.Fatalf("after a refusal at %v: %v, want %v", where, err, ErrTicketReused)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"Bearer abc", "abc", nil},
		{"bearer abc", "abc", nil},
		{"BEARER  abc ", "abc", nil},
		{"", "", ErrMissingToken},
		{"Bearer ", "", ErrMalformedToken},
		{"Basic eDp5", "", ErrMalformedToken},
		{"abc", "", ErrMalformedToken},
	} {
		got, err := BearerToken(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
