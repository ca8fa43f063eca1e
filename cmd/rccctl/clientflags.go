package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
)

// serverFlags are the flags of every command that talks to a coordinator.
type serverFlags struct {
	addr, token, output string
	context             string
	timeout             time.Duration
	// ca is --ca (client.Credentials.CA); insecure allows plaintext off
	// loopback.
	ca       string
	insecure bool
	// conn is the connection dial made, for callError.
	conn *grpc.ClientConn
}

// addServerFlags adds --addr, --token, --context, --timeout and, when
// withOutput, --output to cmd.
func addServerFlags(cmd *cobra.Command, f *serverFlags, withOutput bool) {
	cmd.Flags().StringVar(&f.addr, "addr", "", "coordinator address host:port (default from the context, or "+client.DefaultAddr+")")
	cmd.Flags().StringVar(&f.token, "token", "", "admin token (default $RCC_TOKEN or from the context)")
	cmd.Flags().StringVar(&f.context, "context", "", "coordinator context to use (default $RCC_CONTEXT or the current one; see rccctl context)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the coordinator")
	cmd.Flags().StringVar(&f.ca, "ca", "", "TLS to the coordinator, verified against this PEM CA file, or \""+client.SystemRoots+"\" for the system roots (default $RCC_CA or from the context)")
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "allow plaintext to a coordinator that is not on loopback (the token crosses the network in the clear)")
	_ = cmd.RegisterFlagCompletionFunc("context", completeContexts)
	if withOutput {
		addOutputFlag(cmd, &f.output)
	}
}

// defaultContext names the credentials file rccd dev writes, the
// coordinator used when no context is chosen.
const defaultContext = client.DefaultContext

// resolve picks the address and token with client.Resolve: --addr and
// --token, --context, RCC_ADDR and RCC_TOKEN, RCC_CONTEXT or the config's
// current context, and else the credentials file (the "default" context);
// the address defaults to client.DefaultAddr.
func (f *serverFlags) resolve() (client.Credentials, error) {
	c, err := client.Resolve(client.Selection{
		Addr: f.addr, Token: f.token, Context: f.context, CA: f.ca,
		EnvAddr: os.Getenv("RCC_ADDR"), EnvToken: os.Getenv("RCC_TOKEN"), EnvContext: os.Getenv("RCC_CONTEXT"), EnvCA: os.Getenv("RCC_CA"),
	})
	if errors.Is(err, client.ErrNoToken) {
		return client.Credentials{}, usageError{Err: fmt.Errorf("%w: pass --token, set RCC_TOKEN, add a context (rccctl context add), or save one with: rccd token create --role admin --save", client.ErrNoToken)}
	}
	var se *client.SelectionError
	if errors.As(err, &se) {
		return client.Credentials{}, usageError{Err: se.Err}
	}
	return c, err
}

// dial checks --output and connects; the returned context carries --timeout.
func (f *serverFlags) dial(cmd *cobra.Command) (context.Context, context.CancelFunc, *client.Client, error) {
	if f.output != "" {
		if err := checkOutput(f.output); err != nil {
			return nil, nil, nil, err
		}
	}
	c, err := f.connect()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	return ctx, func() { cancel(); c.Close() }, c, nil
}

// connect makes a client for the coordinator f names (resolve), and
// remembers its address and connection for callError.
func (f *serverFlags) connect() (*client.Client, error) {
	creds, err := f.resolve()
	if err != nil {
		return nil, err
	}
	target, err := creds.Target(f.insecure)
	if errors.Is(err, certs.ErrPlaintext) {
		return nil, usageError{Err: err}
	}
	if err != nil {
		return nil, err
	}
	c, err := client.DialConfig(target)
	if err != nil {
		return nil, err
	}
	f.addr, f.conn = creds.Addr, c.Conn()
	return c, nil
}

// callError turns a gRPC error into a message for people, by its status
// code; nil stays nil, and an error that is no gRPC status is returned as
// it is.
func (f *serverFlags) callError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		// Unavailable is both the coordinator's own answer (no live
		// executor, shutting down) and the client's when it found no
		// server; the connection's state tells them apart.
		if f.conn == nil || f.conn.GetState() != connectivity.Ready {
			return fmt.Errorf("coordinator at %s is not reachable (is it running?): %s", f.addr, st.Message())
		}
	case codes.Unauthenticated:
		return fmt.Errorf("coordinator at %s refused the token: %s", f.addr, st.Message())
	case codes.PermissionDenied:
		return fmt.Errorf("permission denied: %s (this command needs an admin token)", st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("no answer from %s within %v", f.addr, f.timeout)
	case codes.Unimplemented:
		return fmt.Errorf("coordinator at %s does not offer this call (is it older than rccctl?): %s", f.addr, st.Message())
	}
	return errors.New(st.Message())
}

// parseLabels parses --label key=value pairs (client.ParseLabels), a
// usage error when one is malformed.
func parseLabels(pairs []string) (map[string]string, error) {
	m, err := client.ParseLabels(pairs)
	if err != nil {
		return nil, usageError{Err: err}
	}
	return m, nil
}

// shortDuration prints d rounded for a table: 59m12s, 3h4m, 2d3h.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
