package auth

import (
	"crypto"
	"crypto/ed25519"
	"testing"
	"time"
)

// BenchmarkVerifyTicket is the executor's cost of checking one join ticket
// (signature, claims, reuse guard): with the single key of a coordinator
// that never rotated, with a key set of one active and three retired keys
// (the ticket names its key), and with the same set for a ticket without
// a kid (signed before key ids; every key is tried).
func BenchmarkVerifyTicket(b *testing.B) {
	active := testKey(1)
	rotated := map[string]crypto.PublicKey{}
	for seed := byte(1); seed <= 4; seed++ {
		pub := testKey(seed).Public().(ed25519.PublicKey)
		rotated[KeyID(pub)] = pub
	}
	single := map[string]crypto.PublicKey{KeyID(active.Public().(ed25519.PublicKey)): active.Public()}
	for _, bc := range []struct {
		name  string
		keys  map[string]crypto.PublicKey
		noKid bool
	}{
		{"single-key", single, false},
		{"rotated-4-keys", rotated, false},
		{"rotated-4-keys-no-kid", rotated, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Now()
			is, err := NewIssuer(active, Options{Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			v, err := NewKeySetVerifier(bc.keys, Options{Now: func() time.Time { return now }, SpentCapacity: b.N + 1})
			if err != nil {
				b.Fatal(err)
			}
			tickets := make([]string, b.N)
			for i := range tickets {
				if bc.noKid {
					wc := is.registered("p", time.Minute)
					wc.Kind, wc.Instance, wc.Executor = kindTicket, "i1", "e1"
					tickets[i] = signEd25519(b, active, map[string]any{"iss": wc.Issuer, "sub": wc.Subject, "aud": []string{DefaultAudience},
						"exp": wc.ExpiresAt.Unix(), "iat": wc.IssuedAt.Unix(), "jti": wc.ID, "knd": kindTicket, "iid": "i1", "eid": "e1"})
					continue
				}
				tok, _, err := is.Ticket(TicketRequest{PlayerID: "p", InstanceID: "i1", ExecutorID: "e1"})
				if err != nil {
					b.Fatal(err)
				}
				tickets[i] = string(tok)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.VerifyTicket(tickets[i], "e1", "i1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
