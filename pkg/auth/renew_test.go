package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestRenewLoop: the token is replaced at two thirds of its life, a failed
// renewal is tried again, and every call sends the current token.
func TestRenewLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is, err := NewIssuer(testKey(1), Options{})
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := is.RoleToken(RoleExecutor, "ex-a", 3*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		creds := NewRenewableCredentials(first, false)
		var calls atomic.Int32
		renewed := make(chan Token, 4)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		start := time.Now()
		go creds.RenewLoop(ctx, slog.New(slog.DiscardHandler), time.Minute, func(context.Context) (Token, error) {
			if calls.Add(1) == 1 {
				return "", errors.New("coordinator unreachable")
			}
			tok, _, err := is.RoleToken(RoleExecutor, "ex-a", 3*time.Hour)
			return tok, err
		}, func(t Token) { renewed <- t })
		got := <-renewed
		if d := time.Since(start); d != 2*time.Hour+time.Minute {
			t.Fatalf("renewed after %v, want 2h (two thirds of 3h) and one retry of 1m", d)
		}
		if cur, _ := creds.Token(); cur != got || cur == first {
			t.Fatal("the credentials do not send the renewed token")
		}
		md, err := creds.GetRequestMetadata(ctx)
		if err != nil || md["authorization"] != "Bearer "+string(got) {
			t.Fatalf("metadata = %v, %v", md, err)
		}
		<-renewed // and again two hours later
		if d := time.Since(start); d != 4*time.Hour+time.Minute {
			t.Fatalf("second renewal after %v", d)
		}
		cancel()
	})
}
