package auth_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
)

// The coordinator signs a join ticket; the executor, holding only the
// public key, accepts it once.
func Example() {
	dir, err := os.MkdirTemp("", "rcc-auth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Coordinator side.
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ticket, _, err := issuer.Ticket(auth.TicketRequest{PlayerID: "ada", InstanceID: "inst-1", ExecutorID: "exec-1"})
	if err != nil {
		log.Fatal(err)
	}
	pemKey, err := auth.MarshalPublicKey(issuer.PublicKey())
	if err != nil {
		log.Fatal(err)
	}

	// Executor side.
	pub, err := auth.ParsePublicKey(pemKey)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := auth.NewVerifier(pub, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	t, err := verifier.VerifyTicket(string(ticket), "exec-1", "inst-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("admitted", t.PlayerID, "for", t.ExpiresAt.Sub(t.IssuedAt))
	_, err = verifier.VerifyTicket(string(ticket), "exec-1", "inst-1")
	fmt.Println("again:", errors.Is(err, auth.ErrTicketReused))
	fmt.Println("logged as", ticket)
	// Output:
	// admitted ada for 1m0s
	// again: true
	// logged as REDACTED
}

// An admin token for rccctl, sent on every call of a client connection.
func ExampleBearerCredentials() {
	dir, err := os.MkdirTemp("", "rcc-auth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	tok, claims, err := issuer.RoleToken(auth.RoleAdmin, "ops@example.com", 90*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	creds := auth.BearerCredentials{Token: tok}
	// conn, err := grpc.NewClient(addr, grpc.WithPerRPCCredentials(creds), ...)
	fmt.Println(claims.Role, claims.Subject, creds.RequireTransportSecurity())
	// Output: admin ops@example.com false
}
