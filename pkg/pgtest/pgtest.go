package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// EnvURL is the environment variable naming the PostgreSQL server to use.
const EnvURL = "RCC_TEST_POSTGRES"

// DefaultURL is where the machine's own PostgreSQL server is looked for when
// EnvURL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// connectTimeout bounds every connection attempt of the harness.
const connectTimeout = 5 * time.Second

// shared is the server New uses, found once per test binary. A test binary
// is one process running one package's tests, so this is the only state the
// harness keeps across tests.
var shared struct {
	once    sync.Once
	admin   string   // URL of a database the harness connects to for CREATE DATABASE
	how     string   // where admin came from, for logs
	cluster *cluster // the throwaway cluster, if the harness started one
	err     *unavailableError
}

// unavailableError says why no server could be used.
type unavailableError struct {
	reason string
	// always makes the test fail even off CI: the server was named
	// explicitly and does not answer.
	always bool
}

func (e *unavailableError) Error() string { return e.reason }

// Main runs the tests and then stops the throwaway cluster if the harness
// started one. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if c := shared.cluster; c != nil {
		if err := c.destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	os.Exit(code)
}

// New creates a fresh, empty database for t and returns its URL. The
// database is dropped, its connections closed, when t ends; close pools
// opened on it with t.Cleanup too (registered after New, they run first).
// New skips t, or fails it on CI, when no PostgreSQL is available.
func New(t testing.TB) string {
	t.Helper()
	first := false
	shared.once.Do(func() {
		first = true
		shared.admin, shared.how, shared.cluster, shared.err = discover(os.Getenv(EnvURL), DefaultURL)
	})
	if shared.err != nil {
		unavailable(t, testenv.OnCI(), shared.err)
		return ""
	}
	if first {
		t.Logf("pgtest: using PostgreSQL at %s", shared.how)
	}
	return createDatabase(t, shared.admin, true)
}

// discover finds a server as described in the package documentation and
// returns the admin URL, a description of where it is, and the cluster it
// started, if any.
func discover(envURL, defaultURL string) (admin, how string, c *cluster, uerr *unavailableError) {
	if envURL != "" {
		if err := ping(envURL); err != nil {
			return "", "", nil, &unavailableError{
				reason: fmt.Sprintf("%s=%s does not answer: %v", EnvURL, redact(envURL), err),
				always: true,
			}
		}
		return envURL, EnvURL, nil, nil
	}
	defaultErr := ping(defaultURL)
	if defaultErr == nil {
		return defaultURL, redact(defaultURL), nil, nil
	}
	c, err := startCluster()
	if err != nil {
		return "", "", nil, &unavailableError{reason: fmt.Sprintf(
			"%s is not set; nothing usable at %s (%v); and no throwaway cluster: %v",
			EnvURL, redact(defaultURL), defaultErr, err)}
	}
	return c.url("postgres"), "throwaway cluster " + c.root, c, nil
}

// unavailable skips t, or fails it when onCI is true or the error says so.
func unavailable(t testing.TB, onCI bool, err *unavailableError) {
	t.Helper()
	switch {
	case err.always:
		t.Fatalf("pgtest: PostgreSQL unavailable: %s", err.reason)
	case onCI:
		t.Fatalf("pgtest: PostgreSQL is required on CI (CI is set) but unavailable: %s "+
			"(install the postgresql package or set %s)", err.reason, EnvURL)
	default:
		t.Skipf("pgtest: skipping, PostgreSQL unavailable: %s "+
			"(install the postgresql package or set %s)", err.reason, EnvURL)
	}
}

// ping connects to rawURL and runs a query.
func ping(rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// createDatabase creates a database named after t on the server of adminURL
// and returns its URL. If drop is set, t.Cleanup drops it.
func createDatabase(t testing.TB, adminURL string, drop bool) string {
	t.Helper()
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(adminURL), err)
	}
	defer conn.Close(context.Background())
	// template0 is empty whatever was added to template1.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	if drop {
		t.Cleanup(func() {
			if err := dropDatabase(adminURL, name); err != nil {
				t.Errorf("pgtest: %v", err)
			}
		})
	}
	u, err := withDatabase(adminURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// dropDatabase drops name, closing the connections still open to it.
func dropDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err == nil {
		return nil
	}
	// Before PostgreSQL 13 there is no FORCE: close the connections first.
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// databaseName returns a unique database name that says which test made it:
// rcc_<test name, lowercased, other characters as _>_<random>.
func databaseName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	const maxIdent = 63 // NAMEDATALEN-1
	suffix := randomHex(6)
	prefix := "rcc_" + strings.Trim(b.String(), "_")
	if max := maxIdent - len(suffix) - 1; len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix + "_" + suffix
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// withDatabase returns rawURL with its database replaced by name.
func withDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s is not a postgres:// URL", redact(rawURL))
	}
	u.Path = "/" + name
	u.RawPath = ""
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DatabaseName returns the database named by a URL returned by [New] or
// [Server.URL].
func DatabaseName(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", errors.New("parse database url: no database name")
	}
	return name, nil
}

// redact hides the password of a URL for messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
