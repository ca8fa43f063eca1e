package coordinator_test

import (
	"context"
	"os"
	"testing"

	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
)

// BenchmarkJoinTLS is BenchmarkJoin on PostgreSQL with 16 callers, over
// plain TCP and over TLS (the dev certificates, TLS 1.3, four long-lived
// connections: the handshake is paid once per connection, each call pays
// record encryption), side by side in one run: run it with -count to
// alternate them.
func BenchmarkJoinTLS(b *testing.B) {
	files, err := certs.WriteDev(certs.DevRequest{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files *certs.DevFiles
	}{{"plaintext", nil}, {"tls", &files}} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := store.Open(context.Background(), pgtest.New(b)+os.Getenv("RCC_BENCH_PG_PARAMS"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			benchJoinOver(b, st, 16, tc.files)
		})
	}
}
