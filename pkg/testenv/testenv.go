package testenv

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// OnCI reports whether the tests run on CI: the CI environment variable is
// set to anything but a false boolean ("false", "0", ...).
func OnCI() bool { return ciValue(os.Getenv("CI")) }

func ciValue(v string) bool {
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Unavailable ends a test whose requirement is missing: it fails on CI,
// where everything the suite needs must be installed, and skips elsewhere.
// what names the requirement, how says how to get it.
func Unavailable(t testing.TB, what, how string) {
	t.Helper()
	if OnCI() {
		t.Fatalf("%s is required on CI (CI is set) but missing: %s", what, how)
	}
	t.Skipf("skipping: %s is missing: %s", what, how)
}

// MustHaveCommand returns the path of the program name on PATH, or ends the
// test with Unavailable; how says how to install it.
func MustHaveCommand(t testing.TB, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, name, how)
	}
	return p
}

// PollInterval is how often WaitFor checks its condition.
const PollInterval = 10 * time.Millisecond

// WaitFor checks cond every PollInterval until it holds, failing the test
// with what after timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(PollInterval)
	}
}

// HTTPGet fetches url and returns the status code and the body, failing the
// test when the request cannot be made.
func HTTPGet(t testing.TB, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", url, err)
	}
	return res.StatusCode, string(b)
}
