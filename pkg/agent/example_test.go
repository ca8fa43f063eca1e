package agent_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Example links an executor named exec-1 to the coordinator at
// coord.example:7400 and serves its players on :7450, as rccd executor
// does.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// An executor token whose subject is the executor's name:
	// rccd token create --role executor --subject exec-1
	c, err := client.Dial("coord.example:7400", client.Token(os.Getenv("RCC_EXECUTOR_TOKEN")), agent.DialOptions()...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	a, err := agent.New(ctx, agent.Config{
		Client: c, Name: "exec-1", WSURL: "ws://exec-1.example:7450", DataDir: "/var/lib/rcc/executor",
		Executor: executor.Config{Sandbox: wasmhost.Config{CacheDir: "/var/lib/rcc/executor/compiled"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Print(http.ListenAndServe(":7450", a.Executor().Handler())) }()
	go func() { log.Print(http.ListenAndServe(":9090", a.Executor().MetricsHandler())) }()

	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	<-ctx.Done()
	// Let the instances end by themselves for a minute, then stop the rest.
	drain, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = a.Drain(drain)
	stopRun()
	if err := <-done; err != nil {
		log.Print(err)
	}
	_ = a.Executor().Close(context.Background())
}
