package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
)

// serverFlags are the flags of every command that talks to a coordinator.
type serverFlags struct {
	addr, token, output string
	timeout             time.Duration
	// conn is the connection dial made, for callError.
	conn *grpc.ClientConn
}

// addServerFlags adds --addr, --token, --timeout and, when withOutput,
// --output to cmd.
func addServerFlags(cmd *cobra.Command, f *serverFlags, withOutput bool) {
	cmd.Flags().StringVar(&f.addr, "addr", "", "coordinator address host:port (default $RCC_ADDR, the credentials file, or "+client.DefaultAddr+")")
	cmd.Flags().StringVar(&f.token, "token", "", "admin token (default $RCC_TOKEN or the credentials file)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the coordinator")
	if withOutput {
		addOutputFlag(cmd, &f.output)
	}
}

// resolve picks the address and token: flags, then RCC_ADDR / RCC_TOKEN,
// then the credentials file, then the default address.
func (f *serverFlags) resolve() (string, auth.Token, error) {
	addr, token := f.addr, f.token
	if addr == "" {
		addr = os.Getenv("RCC_ADDR")
	}
	if token == "" {
		token = os.Getenv("RCC_TOKEN")
	}
	if addr == "" || token == "" {
		path, err := client.DefaultCredentialsPath()
		if err == nil {
			creds, err := client.LoadCredentials(path)
			switch {
			case err == nil:
				if addr == "" {
					addr = creds.Addr
				}
				if token == "" {
					token = string(creds.Token)
				}
			case !errors.Is(err, fs.ErrNotExist):
				return "", "", err
			}
		}
	}
	if addr == "" {
		addr = client.DefaultAddr
	}
	if token == "" {
		return "", "", usageError{Err: errors.New("no token: pass --token, set RCC_TOKEN, or save one with: rccd token create --role admin --save")}
	}
	return addr, auth.Token(token), nil
}

// dial checks --output and connects; the returned context carries --timeout.
func (f *serverFlags) dial(cmd *cobra.Command) (context.Context, context.CancelFunc, *client.Client, error) {
	if f.output != "" {
		if err := checkOutput(f.output); err != nil {
			return nil, nil, nil, err
		}
	}
	addr, token, err := f.resolve()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := client.Dial(addr, token)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	f.addr, f.conn = addr, c.Conn()
	return ctx, func() { cancel(); c.Close() }, c, nil
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

// parseLabels parses key=value pairs.
func parseLabels(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usageError{Err: fmt.Errorf("label %q: want key=value", p)}
		}
		out[k] = v
	}
	return out, nil
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
