// Package pgtest gives tests a real PostgreSQL database.
//
// [New] returns the URL of a fresh, empty database created for one test and
// dropped when it ends. The server is found, once per test binary, in this
// order:
//
//  1. the URL in RCC_TEST_POSTGRES, if set (a superuser, or a role allowed
//     to create databases);
//  2. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, the
//     machine's own server with trust authentication;
//  3. a throwaway cluster started from the installed PostgreSQL binaries
//     (initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin) in a
//     temporary directory, on a free loopback port. When the tests run as
//     root it runs as the postgres user. It is stopped and removed when the
//     test binary exits: call [Main] from TestMain to do so at once; a
//     watchdog process removes it anyway if the binary dies first.
//
// [Restartable] always starts a private cluster, for fault tests that stop
// and start the server without disturbing anyone else's.
//
// When no PostgreSQL can be found or started, a test calling New or
// Restartable is skipped with a message naming what is missing, except when
// the CI environment variable is set (CI=true): then it fails, so a
// PostgreSQL test never passes silently on CI.
//
// A store test reads:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestCreateGame(t *testing.T) {
//		pool, err := pgxpool.New(context.Background(), pgtest.New(t))
//		if err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(pool.Close)
//		// ... migrate and exercise the store
//	}
//
// and a fault test:
//
//	srv := pgtest.Restartable(t)
//	// ... open the store on srv.URL()
//	srv.Stop()  // or srv.Crash()
//	// ... calls fail with a connection error
//	srv.Start()
//	// ... calls work again
//
// This package is for RCC's own tests; it is not a stable API for other
// modules.
package pgtest
