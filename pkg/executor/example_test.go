package executor_test

import (
	"context"
	"crypto/ed25519"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/executor"
)

// An executor serving players on :7450 and metrics on :9090, running one
// instance of a game module.
func Example() {
	ctx := context.Background()
	var coordinatorKey ed25519.PublicKey // from the coordinator's registration answer
	verifier, err := auth.NewVerifier(coordinatorKey, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ex, err := executor.New(ctx, executor.Config{
		ID:       "exec-1",
		Verifier: verifier,
		Logger:   slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		OnChange: func(s executor.InstanceStatus) {
			// Report to the coordinator, without blocking.
			log.Printf("%s is %s %s", s.ID, s.State, s.Reason)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ex.Close(ctx)
	go func() { log.Print(http.ListenAndServe(":7450", ex.Handler())) }()
	go func() { log.Print(http.ListenAndServe(":9090", ex.MetricsHandler())) }()

	wasm, err := os.ReadFile("build/games/arena.wasm")
	if err != nil {
		log.Fatal(err)
	}
	if err := ex.Start(ctx, executor.InstanceSpec{
		ID: "0198f0c2", Game: "arena", Version: "1", Module: wasm, MaxPlayers: 16,
	}); err != nil {
		log.Fatal(err) // also listed by ex.Instances() as failed, with its reason
	}
	// Players connect to ws://HOST:7450/play/0198f0c2?ticket=JWT.
	_ = ex.Run(ctx) // until ctx ends; then every instance is stopped
}
