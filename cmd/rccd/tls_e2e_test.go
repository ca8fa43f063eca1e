package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// devCerts writes dev certificates into a temporary directory: the
// server's for hosts (and loopback), a client certificate per executor.
func devCerts(t testing.TB, executors []string, hosts ...string) *certs.DevFiles {
	t.Helper()
	f, err := certs.WriteDev(certs.DevRequest{Dir: filepath.Join(t.TempDir(), "certs"), Hosts: hosts, Clients: executors})
	if err != nil {
		t.Fatal(err)
	}
	return &f
}

// wssDialer is a WebSocket dialer verifying wss:// servers with cfg.
func wssDialer(cfg *tls.Config) *websocket.Dialer {
	return &websocket.Dialer{TLSClientConfig: cfg, HandshakeTimeout: 10 * time.Second}
}

// TestE2ETLS runs a coordinator and an executor with TLS on every hop on
// loopback: the coordinator serves TLS and wants executors' client
// certificates, the executor serves wss:// and Join hands out wss://
// URLs, rccctl verifies the coordinator with the CA. Plaintext, another
// CA, and an executor token without its certificate are each refused.
func TestE2ETLS(t *testing.T) {
	arena := arenaModule(t)
	files := devCerts(t, []string{"ex-tls"})
	c := newClusterWith(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"), files)
	x := c.executor("ex-tls")
	if !strings.HasPrefix(x.wsURL, "wss://") {
		t.Fatalf("executor public URL %q, want wss://", x.wsURL)
	}
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))

	j := c.join("arena", "alice")
	if !strings.HasPrefix(j.WsUrl, "wss://") {
		t.Fatalf("Join gave %q, want a wss:// URL", j.WsUrl)
	}
	u, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	caTLS, err := certs.ClientConfig(certs.ClientFiles{CA: files.CA})
	if err != nil {
		t.Fatal(err)
	}
	// Without the CA the player refuses the executor (and the ticket is
	// never sent: the handshake fails first).
	if _, _, err := websocket.DefaultDialer.Dial(u, nil); err == nil || !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Fatalf("a player without the CA: %v, want an unknown authority", err)
	}
	alice := dialPlayerWith(t, wssDialer(caTLS), u, "alice")
	if alice.welcome.PlayerID != "alice" || alice.welcome.InstanceID != in.Id {
		t.Fatalf("welcome %+v", alice.welcome)
	}
	bob := dialPlayerWith(t, wssDialer(caTLS), func() string {
		jb := c.join("arena", "bob")
		u, _ := protocol.PlayURL(jb.WsUrl, jb.InstanceId, jb.Ticket)
		return u
	}(), "bob")
	seesMove(t, bob, alice, 'x')

	ctx := context.Background()
	admin := client.Token(mustToken(t, c.issuer))
	call := func(tg client.Target) error {
		cl, err := client.DialConfig(tg)
		if err != nil {
			return err
		}
		defer cl.Close()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = cl.Executors.List(cctx, &rccv1.ListExecutorsRequest{})
		return err
	}
	t.Run("plaintext client refused", func(t *testing.T) {
		if err := call(client.Target{Addr: c.addr, Token: admin}); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext call: %v, want Unavailable", err)
		}
	})
	t.Run("another CA refused", func(t *testing.T) {
		other, _ := certs.ClientConfig(certs.ClientFiles{CA: devCerts(t, nil).CA})
		err := call(client.Target{Addr: c.addr, Token: admin, TLS: other})
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("call verified with another CA: %v", err)
		}
	})
	t.Run("executor token without its certificate", func(t *testing.T) {
		tok, _, err := c.issuer.RoleToken(auth.RoleExecutor, "ex-tls", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := client.DialConfig(c.target(client.Token(tok)))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		_, err = cl.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: x.id})
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "client certificate") {
			t.Fatalf("heartbeat with a stolen executor token: %v, want Unauthenticated naming the client certificate", err)
		}
	})
	t.Run("executor certificate of another name", func(t *testing.T) {
		tok, _, err := c.issuer.RoleToken(auth.RoleExecutor, "ex-other", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pair := c.certs.Clients["ex-tls"]
		tg := c.target(client.Token(tok))
		if tg.TLS, err = certs.ClientConfig(certs.ClientFiles{CA: files.CA, Cert: pair[0], Key: pair[1]}); err != nil {
			t.Fatal(err)
		}
		cl, err := client.DialConfig(tg)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		_, err = cl.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: x.id})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("executor ex-other with ex-tls's certificate: %v, want PermissionDenied", err)
		}
	})
	t.Run("rccctl", func(t *testing.T) {
		env := []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(admin), "XDG_CONFIG_HOME=" + t.TempDir()}
		out, err := rccctl(t, append(env, "RCC_CA="+files.CA), "executor", "ls")
		if err != nil || !strings.Contains(out, "ex-tls") {
			t.Fatalf("rccctl with RCC_CA: %v\n%s", err, out)
		}
		out, err = rccctl(t, env, "join", "arena", "--player", "carol", "--ca", files.CA)
		if err != nil || !strings.Contains(out, "wss://") {
			t.Fatalf("rccctl join --ca: %v\n%s", err, out)
		}
		if out, err := rccctl(t, env, "executor", "ls", "--timeout", "5s"); err == nil {
			t.Fatalf("rccctl without the CA reached a TLS coordinator:\n%s", out)
		}
	})
}

// TestPlaintextOffLoopbackRefused: rccd coordinator and executor refuse a
// plaintext listener on an address that is not loopback, with a message
// saying how to allow it, unless --insecure.
func TestPlaintextOffLoopbackRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"coordinator", nil, []string{"coordinator", "--data-dir", dir, "--grpc-addr", "0.0.0.0:0"}, "--grpc-addr 0.0.0.0:0: plaintext off loopback"},
		{"executor players' endpoint", []string{"RCC_EXECUTOR_TOKEN=t"}, []string{"executor", "--data-dir", dir, "--ws-addr", ":0"}, "--ws-addr :0: plaintext off loopback"},
		{"executor coordinator", []string{"RCC_EXECUTOR_TOKEN=t"}, []string{"executor", "--data-dir", dir, "--ws-addr", "127.0.0.1:0", "--coordinator", "10.9.9.9:7400"},
			"--coordinator 10.9.9.9:7400: plaintext off loopback"},
		{"half a pair", nil, []string{"coordinator", "--data-dir", dir, "--tls-cert", "x.crt"}, "--tls-cert and --tls-key go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			code, _, errOut := rccd(t, tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d: %s; want exit 2 and %q", code, errOut, tc.want)
			}
			if !strings.Contains(errOut, "--insecure") && tc.name != "half a pair" {
				t.Fatalf("the refusal does not say how to allow it: %s", errOut)
			}
		})
	}
	// --insecure says so out loud: the coordinator then serves.
	ctx, cancel := context.WithCancel(context.Background())
	var logs lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"coordinator", "--data-dir", dir, "--grpc-addr", "0.0.0.0:0", "--metrics-addr", "", "--insecure"}, &logs, &logs)
	}()
	testenv.WaitFor(t, "the coordinator's start line", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), `"msg":"coordinator started"`)
	})
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("coordinator --insecure exited %d:\n%s", code, logs.String())
	}
}

// TestCertDev: rccd cert dev writes a CA and certificates a TLS client
// verifies, for every --host given.
func TestCertDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errOut := rccd(t, "cert", "dev", "--dir", dir, "--host", "coord-1.internal", "--host", "10.66.0.3", "--client", "ex-1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ca.crt", "server.crt", "server.key", "ex-1.crt", "ex-1.key"} {
		if !strings.Contains(out, filepath.Join(dir, want)) {
			t.Errorf("output does not name %s:\n%s", want, out)
		}
	}
	pool, err := certs.LoadPool(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := certs.NewReloader(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"coord-1.internal", "10.66.0.3", "localhost"} {
		if _, err := r.Certificate().Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("server certificate for %s: %v", name, err)
		}
	}
	if code, _, errOut := rccd(t, "cert", "dev", "--dir", dir, "--client", "../escape"); code != exitFail || !strings.Contains(errOut, "client name") {
		t.Fatalf("a client name with a path: exit %d: %s", code, errOut)
	}
}
