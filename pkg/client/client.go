package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/rcc-games/rcc/pkg/auth"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// DefaultAddr is the coordinator's default gRPC address.
const DefaultAddr = "localhost:7400"

// chunkSize is the size of upload messages.
const chunkSize = 1 << 20

// Client is a connection to a coordinator.
type Client struct {
	conn *grpc.ClientConn
	// Games, Instances, Executors and Watch are the generated clients of
	// the coordinator's services.
	Games     rccv1.GameServiceClient
	Instances rccv1.InstanceServiceClient
	Executors rccv1.ExecutorServiceClient
	Watch     rccv1.WatchServiceClient
}

// Dial returns a Client for the coordinator at addr ("host:port") that
// sends token with every call, over plain TCP. The connection is made
// lazily, on the first call. addr may name several coordinators
// (DialConfig.Addr); opts are added to the connection's options.
func Dial(addr string, token Token, opts ...grpc.DialOption) (*Client, error) {
	return DialConfig(Target{Addr: addr, Token: token, Options: opts})
}

// Target is a coordinator (or several) to dial.
type Target struct {
	// Addr is "host:port", DefaultAddr when empty. A comma-separated list
	// of addresses names several coordinators on one database: calls go to
	// the first that answers and move to the next when it stops answering.
	// One DNS name that resolves to several addresses does the same.
	Addr string
	// Token is sent with every call, when set.
	Token Token
	// TLS, when set, is the connection's TLS configuration (verifying
	// each coordinator against the host of its own address, unless
	// TLS.ServerName says otherwise); plain TCP when nil. With TLS the
	// token is never sent without it.
	TLS *tls.Config
	// Options are added to the connection's options.
	Options []grpc.DialOption
}

// DialConfig returns a Client for t. The connection is made lazily, on
// the first call.
func DialConfig(t Target) (*Client, error) {
	addrs, err := SplitAddrs(t.Addr)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if t.TLS != nil {
		creds = credentials.NewTLS(t.TLS)
	}
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16 << 20)),
	}
	if t.Token != "" {
		all = append(all, grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: auth.Token(t.Token), RequireTLS: t.TLS != nil}))
	}
	target := addrs[0]
	if len(addrs) > 1 {
		// A resolver of the listed addresses, tried in order by gRPC's
		// default pick_first policy; each is verified against its own
		// host name.
		r := manual.NewBuilderWithScheme("rcc-coordinators")
		state := resolver.State{}
		for _, a := range addrs {
			host, _, _ := net.SplitHostPort(a)
			state.Addresses = append(state.Addresses, resolver.Address{Addr: a, ServerName: host})
		}
		r.InitialState(state)
		target = r.Scheme() + ":///coordinators"
		all = append(all, grpc.WithResolvers(r))
	}
	all = append(all, t.Options...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("dial coordinator %s: %w", t.Addr, err)
	}
	return New(conn), nil
}

// SplitAddrs splits a comma-separated list of coordinator addresses,
// each "host:port"; an empty list is DefaultAddr.
func SplitAddrs(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return []string{DefaultAddr}, nil
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("coordinator address %q: want host:port: %w", a, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// New returns a Client on an existing connection; Close closes it.
func New(conn *grpc.ClientConn) *Client {
	return &Client{
		conn:      conn,
		Games:     rccv1.NewGameServiceClient(conn),
		Instances: rccv1.NewInstanceServiceClient(conn),
		Executors: rccv1.NewExecutorServiceClient(conn),
		Watch:     rccv1.NewWatchServiceClient(conn),
	}
}

// Conn returns the underlying gRPC connection (for the health service, for
// example).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// DeployRequest is a game version to upload.
type DeployRequest struct {
	Game        string
	Module      []byte
	Assets      []byte // optional archive, served read-only at /assets
	Description string
	// The version's sandbox budgets; 0 keeps the executor's default.
	// InitFuel covers _initialize and init together, FrameFuel each
	// frame; MemoryLimitPages caps linear memory in 64 KiB pages (at most
	// 1024).
	InitFuel, FrameFuel uint64
	MemoryLimitPages    uint32
	// SnapshotHz is how many states a second the players get (0: every
	// tick); a spawn may set its own.
	SnapshotHz uint32
	// CheckpointEveryMs is the default checkpoint interval of the
	// version's instances, in milliseconds (0: none).
	CheckpointEveryMs uint32
}

// Deploy uploads a new version of a game. The coordinator checks the module
// against the guest ABI and the limits against its maxima, stores it by
// sha256 and answers with the version (a module, assets and limits equal to
// the latest version's return that version, marked Unchanged).
func (c *Client) Deploy(ctx context.Context, req DeployRequest) (*rccv1.UploadVersionResponse, error) {
	sum := sha256.Sum256(req.Module)
	hdr := &rccv1.UploadHeader{Game: req.Game, Description: req.Description, ModuleSha256: hex.EncodeToString(sum[:])}
	if len(req.Assets) > 0 {
		as := sha256.Sum256(req.Assets)
		hdr.AssetsSha256 = hex.EncodeToString(as[:])
	}
	if req.InitFuel != 0 || req.FrameFuel != 0 || req.MemoryLimitPages != 0 || req.SnapshotHz != 0 || req.CheckpointEveryMs != 0 {
		hdr.Limits = &rccv1.Limits{InitFuel: req.InitFuel, FrameFuel: req.FrameFuel, MemoryLimitPages: req.MemoryLimitPages,
			SnapshotHz: req.SnapshotHz, CheckpointEveryMs: req.CheckpointEveryMs}
	}
	stream, err := c.Games.UploadVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&rccv1.UploadVersionRequest{Part: &rccv1.UploadVersionRequest_Header{Header: hdr}}); err != nil {
		return nil, closeErr(stream, err)
	}
	for off := 0; off < len(req.Module); off += chunkSize {
		part := req.Module[off:min(off+chunkSize, len(req.Module))]
		if err := stream.Send(&rccv1.UploadVersionRequest{Part: &rccv1.UploadVersionRequest_ModuleChunk{ModuleChunk: part}}); err != nil {
			return nil, closeErr(stream, err)
		}
	}
	for off := 0; off < len(req.Assets); off += chunkSize {
		part := req.Assets[off:min(off+chunkSize, len(req.Assets))]
		if err := stream.Send(&rccv1.UploadVersionRequest{Part: &rccv1.UploadVersionRequest_AssetsChunk{AssetsChunk: part}}); err != nil {
			return nil, closeErr(stream, err)
		}
	}
	return stream.CloseAndRecv()
}

// closeErr returns the server's status when a send failed because the
// server ended the stream (io.EOF from Send).
func closeErr(stream rccv1.GameService_UploadVersionClient, err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := stream.CloseAndRecv(); rerr != nil {
			return rerr
		}
	}
	return err
}

// FetchBlob downloads content-addressed bytes and checks their sha256.
func (c *Client) FetchBlob(ctx context.Context, sha string) ([]byte, error) {
	stream, err := c.Games.FetchBlob(ctx, &rccv1.FetchBlobRequest{Sha256: sha})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if msg.TotalSize > 0 {
			buf.Grow(int(msg.TotalSize))
		}
		buf.Write(msg.Chunk)
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := hex.EncodeToString(sum[:]); got != sha {
		return nil, fmt.Errorf("fetch blob %s: received bytes hash to %s", sha, got)
	}
	return buf.Bytes(), nil
}

// VersionHeader is the response header of the coordinator's Watch stream
// that carries the coordinator's build version (when it has one).
const VersionHeader = "rcc-coordinator-version"
