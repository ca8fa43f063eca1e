package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rcc-games/rcc/pkg/testenv"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestNewIsEmptyAndUsable(t *testing.T) {
	url := New(t)
	conn := connect(t, url)
	ctx := context.Background()
	if n := queryInt(t, conn, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`); n != 0 {
		t.Fatalf("fresh database has %d relations", n)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE games (id bigserial PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO games (name) VALUES ($1), ($2)", "arena", "pong"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, conn, "SELECT count(*) FROM games"); n != 2 {
		t.Fatalf("games has %d rows, want 2", n)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if want, _ := DatabaseName(url); db != want || !strings.HasPrefix(db, "rcc_testnewisemptyandusable_") {
		t.Errorf("connected to %q, URL names %q", db, want)
	}
}

func TestNewGivesDistinctDatabases(t *testing.T) {
	a, b := New(t), New(t)
	if a == b {
		t.Fatalf("two calls returned the same URL %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	if _, err := ca.Exec(context.Background(), "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, cb, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); n != 0 {
		t.Fatal("a table created in the first database shows in the second")
	}
}

func TestNewDropsDatabaseOnCleanup(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		url := New(t)
		var err error
		if name, err = DatabaseName(url); err != nil {
			t.Fatal(err)
		}
		// A connection left open does not prevent the drop.
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // deliberately never closed
	})
	if name == "" {
		t.Skip("the subtest did not get a database")
	}
	admin := connect(t, shared.admin)
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

func TestRestartable(t *testing.T) {
	s := Restartable(t)
	ctx := context.Background()
	conn := connect(t, s.URL())
	if _, err := conn.Exec(ctx, "CREATE TABLE survives (x int); INSERT INTO survives VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("an open connection still works after Stop")
	}
	ctxShort, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctxShort, s.URL()); err == nil {
		c.Close(ctx)
		t.Fatal("a new connection works after Stop")
	}

	s.Start()
	conn2 := connect(t, s.URL())
	if n := queryInt(t, conn2, "SELECT x FROM survives"); n != 42 {
		t.Fatalf("after restart: x = %d, want 42", n)
	}

	s.Crash()
	if err := conn2.Ping(ctx); err == nil {
		t.Fatal("an open connection still works after Crash")
	}
	s.Start()
	if n := queryInt(t, connect(t, s.URL()), "SELECT x FROM survives"); n != 42 {
		t.Fatalf("after crash recovery: x = %d, want 42", n)
	}
}

func TestRestartableIsPrivate(t *testing.T) {
	var root string
	t.Run("user", func(t *testing.T) {
		s := Restartable(t)
		root = s.c.root
		if !strings.Contains(s.URL(), fmt.Sprintf(":%d/", s.c.port)) || strings.Contains(s.URL(), ":5432/") {
			t.Fatalf("URL %s is not the private cluster's port %d", s.URL(), s.c.port)
		}
		if _, err := os.Stat(root); err != nil {
			t.Fatal(err)
		}
		s.Stop() // left stopped: the cleanup copes
	})
	if root == "" {
		t.Skip("the subtest did not get a cluster")
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s left behind after its test (%v)", root, err)
	}
}

func TestDiscoverStartsThrowawayCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	// Nothing listens on port 1, so discover falls back to a cluster.
	admin, how, c, uerr := discover("", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable")
	if uerr != nil {
		unavailable(t, testenv.OnCI(), uerr)
	}
	t.Cleanup(func() {
		if err := c.destroy(); err != nil {
			t.Error(err)
		}
	})
	if c == nil || !strings.HasPrefix(how, "throwaway cluster") {
		t.Fatalf("discover used %q, want a throwaway cluster", how)
	}
	url := createDatabase(t, admin, true)
	if n := queryInt(t, connect(t, url), "SELECT 1"); n != 1 {
		t.Fatal("SELECT 1 did not return 1")
	}
}

func TestDiscoverNamedServerMustAnswer(t *testing.T) {
	_, _, _, uerr := discover("postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", DefaultURL)
	if uerr == nil || !uerr.always {
		t.Fatalf("discover with an unreachable %s = %v, want an error that always fails", EnvURL, uerr)
	}
	if strings.Contains(uerr.Error(), "secret") || !strings.Contains(uerr.Error(), EnvURL) {
		t.Errorf("message %q must name %s and hide the password", uerr, EnvURL)
	}
}

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestUnavailable(t *testing.T) {
	missing := &unavailableError{reason: "initdb and pg_ctl not found"}
	tests := []struct {
		name     string
		ci       string
		err      *unavailableError
		wantFail bool
	}{
		{"local", "", missing, false},
		{"CI=true", "true", missing, true},
		{"CI=1", "1", missing, true},
		{"CI=yes", "yes", missing, true},
		{"CI=false", "false", missing, false},
		{"named server, local", "", &unavailableError{reason: "RCC_TEST_POSTGRES does not answer", always: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			unavailable(r, testenv.OnCI(), tt.err)
			got := r.skip
			if tt.wantFail {
				got = r.fatal
				if r.skip != "" {
					t.Errorf("skipped: %s", r.skip)
				}
			} else if r.fatal != "" {
				t.Errorf("failed: %s", r.fatal)
			}
			if !strings.Contains(got, tt.err.reason) {
				t.Errorf("message %q does not say what is missing (%q)", got, tt.err.reason)
			}
		})
	}
}

func TestFindBinDir(t *testing.T) {
	t.Setenv("PATH", "")
	if _, err := findBinDir("/nonexistent/*/bin"); err == nil || !strings.Contains(err.Error(), "initdb") {
		t.Errorf("findBinDir with nothing installed: err = %v, want one naming initdb", err)
	}
	if dir, err := findBinDir(binGlob); err == nil {
		if !isExecutable(dir+"/initdb") || !isExecutable(dir+"/pg_ctl") {
			t.Errorf("findBinDir = %s, which lacks initdb or pg_ctl", dir)
		}
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct{ test, prefix string }{
		{"TestX", "rcc_testx_"},
		{"TestStore/postgres/Create-Game", "rcc_teststore_postgres_create_game_"},
		{strings.Repeat("TestLong", 20), "rcc_testlong"},
	}
	for _, tt := range tests {
		got := databaseName(tt.test)
		if !strings.HasPrefix(got, tt.prefix) || len(got) > 63 {
			t.Errorf("databaseName(%q) = %q, want prefix %q and at most 63 bytes", tt.test, got, tt.prefix)
		}
	}
	if databaseName("TestX") == databaseName("TestX") {
		t.Error("databaseName is not unique")
	}
}
