package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// binGlob is where Debian and Ubuntu install the PostgreSQL server binaries.
const binGlob = "/usr/lib/postgresql/*/bin"

// cluster is a throwaway PostgreSQL cluster in a temporary directory,
// listening on 127.0.0.1 and on a unix socket in that directory.
type cluster struct {
	root string // temporary directory: data/, server.log, the socket
	bin  string // directory of initdb and pg_ctl
	port int
	as   *owner // the user the server runs as, when not the current one
	// netns, when set, is the network namespace the server runs in,
	// listening on listen (port 5432); the test reaches it through the
	// unix socket in root.
	netns, listen string

	mu       sync.Mutex
	watchdog *os.File // write end of the watchdog's stdin; closing it removes the cluster
}

func (c *cluster) data() string    { return filepath.Join(c.root, "data") }
func (c *cluster) logFile() string { return filepath.Join(c.root, "server.log") }

// url returns the URL of database db on the cluster, as its superuser:
// over TCP on loopback, or over its unix socket when it runs in another
// network namespace.
func (c *cluster) url(db string) string {
	if c.netns != "" {
		return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, c.root, c.port)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// tcpURL returns the URL of database db at the cluster's TCP address.
func (c *cluster) tcpURL(db string) string {
	host := "127.0.0.1"
	if c.listen != "" {
		host = c.listen
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", net.JoinHostPort(host, strconv.Itoa(c.port)), db)
}

// startCluster creates and starts a cluster. Any error names what is
// missing or what failed.
func startCluster() (*cluster, error) { return startClusterIn("", "") }

// startClusterIn is startCluster with the server in network namespace
// netns listening on listen:5432, when netns is set.
func startClusterIn(netns, listen string) (*cluster, error) {
	bin, err := findBinDir(binGlob)
	if err != nil {
		return nil, err
	}
	as, err := serverOwner()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "rcc-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &cluster{root: root, bin: bin, as: as, netns: netns, listen: listen}
	if err := c.init(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	if err := c.startWatchdog(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	// A free port can be taken between choosing it and binding it: retry.
	for attempt := 1; ; attempt++ {
		if err = c.choosePort(); err == nil {
			if err = c.start(); err == nil {
				return c, nil
			}
		}
		if attempt == 3 {
			c.destroy()
			return nil, err
		}
	}
}

// owner is the user a cluster runs as when the tests run as root, which
// initdb and postgres refuse.
type owner struct {
	name     string
	uid, gid uint32
}

func serverOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb needs a non-root user: no postgres user (%v)", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user: %w", err)
	}
	return &owner{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

// findBinDir returns the directory holding initdb and pg_ctl: the one on
// PATH, else the newest version under glob.
func findBinDir(glob string) (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(glob)
	// Newest major version first: /usr/lib/postgresql/15/bin before .../9.6/bin.
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found on PATH or under %s", glob)
}

func versionOf(binDir string) int {
	v, _, _ := strings.Cut(filepath.Base(filepath.Dir(binDir)), ".")
	n, _ := strconv.Atoi(v)
	return n
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// init runs initdb and writes the cluster's settings.
func (c *cluster) init() error {
	if c.as != nil {
		if err := os.Chown(c.root, int(c.as.uid), int(c.as.gid)); err != nil {
			return fmt.Errorf("give cluster directory to user %s: %w", c.as.name, err)
		}
	}
	if err := c.run("initdb", "--pgdata", c.data(), "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync"); err != nil {
		return err
	}
	// Speed over durability: the cluster is thrown away.
	listen := "127.0.0.1"
	if c.listen != "" {
		listen = c.listen
	}
	settings := fmt.Sprintf(`
# pgtest
listen_addresses = '%s'
unix_socket_directories = '%s'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
`, listen, c.root)
	if c.netns != "" {
		// Other namespaces' hosts connect over TCP, trusted like the rest.
		hba, err := os.OpenFile(filepath.Join(c.data(), "pg_hba.conf"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fmt.Errorf("configure cluster: %w", err)
		}
		_, err = hba.WriteString("host all all 0.0.0.0/0 trust\n")
		if cerr := hba.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("configure cluster: %w", err)
		}
	}
	return c.appendConf(settings)
}

// appendConf appends to postgresql.conf; later lines win over earlier ones.
func (c *cluster) appendConf(text string) error {
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("configure cluster: %w", err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("configure cluster: %w", err)
	}
	return nil
}

// choosePort picks a free loopback port and configures the cluster on it
// (5432 in a namespace of its own).
func (c *cluster) choosePort() error {
	if c.netns != "" {
		c.port = 5432
		return c.appendConf("port = 5432\n")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("find a free port: %w", err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return c.appendConf(fmt.Sprintf("port = %d\n", c.port))
}

// start starts the server and waits until it accepts connections.
func (c *cluster) start() error {
	err := c.run("pg_ctl", "start", "--pgdata", c.data(), "--log", c.logFile(), "--wait", "--timeout", "60", "--silent")
	if err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, c.logTail())
	}
	return nil
}

// stop stops the server; mode is "fast" (close connections, clean
// shutdown) or "immediate" (like a crash).
func (c *cluster) stop(mode string) error {
	return c.run("pg_ctl", "stop", "--pgdata", c.data(), "--mode", mode, "--wait", "--timeout", "60", "--silent")
}

// running reports whether the server's postmaster.pid exists.
func (c *cluster) running() bool {
	_, err := os.Stat(filepath.Join(c.data(), "postmaster.pid"))
	return err == nil
}

// destroy stops the server if it runs and removes the cluster directory.
func (c *cluster) destroy() error {
	var err error
	if c.running() {
		err = c.stop("immediate")
	}
	if rerr := os.RemoveAll(c.root); rerr != nil && err == nil {
		err = fmt.Errorf("remove cluster: %w", rerr)
	}
	c.mu.Lock()
	if c.watchdog != nil {
		c.watchdog.Close()
		c.watchdog = nil
	}
	c.mu.Unlock()
	return err
}

// run runs a PostgreSQL program from c.bin as the cluster's owner.
func (c *cluster) run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	if c.netns != "" {
		// ip netns exec needs root; runuser then drops to the owner.
		prog := []string{"netns", "exec", c.netns}
		if c.as != nil {
			prog = append(prog, "runuser", "-u", c.as.name, "--")
		}
		cmd = exec.CommandContext(ctx, "ip", append(append(prog, filepath.Join(c.bin, name)), args...)...)
	}
	cmd.Dir = c.root // the owner may not be allowed into the current directory
	cmd.Env = serverEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if c.as != nil && c.netns == "" {
		runAs(cmd, c.as.uid, c.as.gid)
	}
	if err := cmd.Run(); err != nil {
		who := ""
		if c.as != nil {
			who = " (as user " + c.as.name + ")"
		}
		return fmt.Errorf("%s %s%s: %w\n%s", name, strings.Join(args, " "), who, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// serverEnv is the environment without the PG* variables, which would
// point the PostgreSQL programs elsewhere.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

// logTail returns the end of the server log.
func (c *cluster) logTail() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const max = 4 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// watchdogScript waits until its stdin closes, which happens when the test
// binary exits however it exits, then stops the server and removes the
// cluster directory ($1).
const watchdogScript = `read _
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
	kill -QUIT "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -rf "$1"
`

// startWatchdog starts a process, in its own session so that a Ctrl-C
// does not kill it first, that removes the cluster when this process exits.
func (c *cluster) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start cluster watchdog: %w", err)
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "pgtest-watchdog", c.root)
	cmd.Stdin = r
	detach(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start cluster watchdog: %w", err)
	}
	go cmd.Wait() // reap it if it ends while this process runs
	c.mu.Lock()
	c.watchdog = w
	c.mu.Unlock()
	return nil
}
