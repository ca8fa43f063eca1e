package coordinator_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestServeMetricsAndHealth: Serve with a metrics address serves the
// registry given as Gatherer on /metrics and the store's health on
// /healthz, and Shutdown stops both.
func TestServeMetricsAndHealth(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := coordinator.New(coordinator.Config{Store: sqliteStore(t), Issuer: newIssuer(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := c.Serve(context.Background(), coordinator.ServeConfig{GRPCAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		return testenv.HTTPGet(t, "http://"+srv.MetricsAddr()+path)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "rcc_coordinator_spawns_total") {
		t.Errorf("/metrics: %d, no rcc_coordinator_spawns_total in:\n%s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get("http://" + srv.MetricsAddr() + "/healthz"); err == nil {
		t.Error("/healthz still answers after Shutdown")
	}
}

// TestServeBadAddress: an address that cannot be listened on is an error
// naming it, and nothing is left serving.
func TestServeBadAddress(t *testing.T) {
	c, err := coordinator.New(coordinator.Config{Store: sqliteStore(t), Issuer: newIssuer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Serve(context.Background(), coordinator.ServeConfig{GRPCAddr: "127.0.0.1:0", MetricsAddr: "256.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "metrics address") {
		t.Fatalf("Serve with a bad metrics address: %v, want an error naming it", err)
	}
}
