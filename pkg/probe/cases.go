package probe

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Cases is the battery, in the order Run runs it. Append new probes here.
func Cases() []Case {
	return []Case{
		{"OversizedLabels", oversizedLabels},
		{"OversizedParams", oversizedParams},
		{"HostilePlayerIDs", hostilePlayerIDs},
		{"ListAfterBigSpawns", listAfterBigSpawns},
		{"UnauthenticatedFlood", unauthenticatedFlood},
		{"BogusAssetsUpload", bogusAssetsUpload},
		{"LargeAssetsStreamed", largeAssetsStreamed},
	}
}

// MB is a megabyte, for the bounds below.
const MB = 1_000_000

// oversizedLabels: labels past the Kubernetes limits are refused, and a
// 3.9 MB one is refused by size before it is looked at.
func oversizedLabels(t *testing.T, tg *Target) {
	c := ctx(t)
	many := map[string]string{}
	for i := range 65 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		code   codes.Code
		want   string
	}{
		{"64-character value", map[string]string{"k": strings.Repeat("v", 64)}, codes.InvalidArgument, "64 characters, the limit is 63"},
		{"64-character key", map[string]string{strings.Repeat("k", 64): "v"}, codes.InvalidArgument, "64 characters, the limit is 63"},
		{"65 labels", many, codes.InvalidArgument, "65 labels, the limit is 64"},
		{"control characters", map[string]string{"k": "a\x1b[2Jb"}, codes.InvalidArgument, "use 1 to 63 of"},
		{"3.9 MB value", map[string]string{"k": strings.Repeat("v", 3_900_000)}, codes.ResourceExhausted, "over the method's limit"},
	} {
		_, err := tg.Admin.Instances.Spawn(c, &rccv1.SpawnRequest{Game: tg.Game, Labels: tc.labels})
		wantCode(t, "spawn with a "+tc.name, err, tc.code, tc.want)
		_, err = tg.Admin.Instances.Join(c, &rccv1.JoinRequest{Game: tg.Game, PlayerId: "probe", Labels: tc.labels})
		wantCode(t, "join with a "+tc.name, err, tc.code, tc.want)
	}
}

// oversizedParams: params over 64 KiB are refused.
func oversizedParams(t *testing.T, tg *Target) {
	params, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("p", 65<<10)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Admin.Instances.Spawn(ctx(t), &rccv1.SpawnRequest{Game: tg.Game, Params: params})
	wantCode(t, "spawn with 65 KiB of params", err, codes.InvalidArgument, "the limit is 65536")
}

// hostilePlayerIDs: long player ids and ones with control characters get
// no ticket and reserve no seat.
func hostilePlayerIDs(t *testing.T, tg *Target) {
	c := ctx(t)
	seats := func() (n uint32) {
		ins, err := tg.Admin.ListInstances(c, &rccv1.ListInstancesRequest{Game: tg.Game})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			n += in.Reserved
		}
		return n
	}
	before := seats()
	for name, id := range map[string]string{
		"10 KB":   strings.Repeat("p", 10_000),
		"NUL":     "bob\x00",
		"ESC":     "\x1b[31mbob",
		"newline": "bob\nalice: hi",
		"DEL":     "bob\x7f",
	} {
		_, err := tg.Admin.Instances.Join(c, &rccv1.JoinRequest{Game: tg.Game, PlayerId: id})
		wantCode(t, "join with a player id with "+name, err, codes.InvalidArgument, "player_id")
	}
	if after := seats(); after != before {
		t.Fatalf("refused joins reserved seats: %d before, %d after", before, after)
	}
}

// listAfterBigSpawns: instances at every input limit, more of them than
// a default gRPC client receives in one message, still list, in pages,
// before and after they are stopped (ended instances are kept).
func listAfterBigSpawns(t *testing.T, tg *Target) {
	c := ctx(t)
	// The executor takes none of them: they stay pending, cheap.
	if _, err := tg.Admin.Executors.Drain(c, &rccv1.DrainExecutorRequest{Id: tg.ExecutorID}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if _, err := tg.Admin.Executors.Undrain(c, &rccv1.UndrainExecutorRequest{Id: tg.ExecutorID}); err != nil {
			t.Errorf("undrain: %v", err)
		}
	})
	const n = 80 // some 5.6 MB
	ids := map[string]bool{}
	for k := range n {
		in, err := tg.Admin.Instances.Spawn(c, coordinatortest.BigSpawn(tg.Game, k))
		if err != nil {
			t.Fatalf("spawn %d at the limits: %v", k, err)
		}
		ids[in.Id] = true
	}
	small, err := client.Dial(tg.Addr, client.Token(tg.AdminToken), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	count := func(what string, req *rccv1.ListInstancesRequest) {
		t.Helper()
		if _, err := small.Instances.List(c, &rccv1.ListInstancesRequest{PageSize: 1000, States: req.States}); err != nil {
			t.Fatalf("%s: one page of 1000: %v", what, err)
		}
		all, err := small.ListInstances(c, req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		found := 0
		for _, in := range all {
			if ids[in.Id] {
				found++
			}
		}
		if found != n {
			t.Fatalf("%s: %d of the %d big instances listed", what, found, n)
		}
	}
	count("list", &rccv1.ListInstancesRequest{})
	for id := range ids {
		if _, err := tg.Admin.Instances.Stop(c, &rccv1.StopInstanceRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	count("list of stopped", &rccv1.ListInstancesRequest{States: []rccv1.InstanceState{rccv1.InstanceState_INSTANCE_STATE_STOPPED}})
}

// unauthenticatedFlood: 100 calls of 4 MB without a valid token are
// refused and leave the coordinator's memory where it was: their bodies
// are never read.
func unauthenticatedFlood(t *testing.T, tg *Target) {
	anon, err := client.Dial(tg.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	forged, err := client.Dial(tg.Addr, "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYWRtaW4ifQ.AAAA")
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	req := &rccv1.SpawnRequest{Game: tg.Game, Labels: map[string]string{"k": strings.Repeat("v", 4_000_000)}}
	c := ctx(t)
	memoryBound(t, tg, 50*MB, func() {
		const calls, parallel = 100, 20
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for w := range parallel {
			wg.Go(func() {
				cl := anon
				if w%2 == 1 {
					cl = forged
				}
				for range calls / parallel {
					_, err := cl.Instances.Spawn(c, req)
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			wantCode(t, "unauthenticated 4 MB spawn", err, codes.Unauthenticated, "")
		}
	})
}

// bogusAssetsUpload: 200 MB of assets that are no archive, generated as
// they are sent, are refused, and the coordinator's memory stays bounded:
// bytes that are no archive at all after their first chunk, and a tar
// header followed by junk, spooled to disk and refused at the end.
func bogusAssetsUpload(t *testing.T, tg *Target) {
	const total = 200 * MB
	junk := bytes.Repeat([]byte("not an archive, "), (1<<20)/16)
	for _, tc := range []struct {
		name     string
		first    []byte
		maxSent  int64
		wantText string
	}{
		{"junk", nil, 64 * MB, "not a zip, tar or tar.gz archive"},
		{"tar header then junk", tarHeader(t), total, "not a zip, tar or tar.gz archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			memoryBound(t, tg, 50*MB, func() {
				sent, err := upload(ctx(t), tg, "probe-bogus", tc.first, junk, total)
				t.Logf("%d MB sent before the answer", sent/MB)
				wantCode(t, "bogus assets upload", err, codes.InvalidArgument, tc.wantText)
				if sent > tc.maxSent {
					t.Fatalf("%d MB sent before the refusal, want at most %d", sent/MB, tc.maxSent/MB)
				}
			})
		})
	}
	if _, err := tg.Admin.Games.GetVersion(ctx(t), &rccv1.GetVersionRequest{Game: "probe-bogus"}); status.Code(err) != codes.NotFound {
		t.Fatalf("a refused upload created a version: %v", err)
	}
}

// largeAssetsStreamed: a valid 67 MB assets archive, generated as it is
// sent, is deployed and fetched back without the coordinator holding it
// in memory: spooled to disk, stored and read in pieces.
func largeAssetsStreamed(t *testing.T, tg *Target) {
	const size = 64 << 20 // more than the bound; a multiple of the tar block
	zeros := make([]byte, 1<<20)
	c := ctx(t)
	memoryBound(t, tg, 50*MB, func() {
		// The header, the file's zeros, then two zero blocks: the end.
		sent, err := upload(c, tg, "probe-large", tarHeaderOf(t, "big.bin", size), zeros, 512+size+1024)
		if err != nil {
			t.Fatalf("deploy of %d MB of assets: %v", sent/MB, err)
		}
	})
	v, err := tg.Admin.Games.GetVersion(c, &rccv1.GetVersionRequest{Game: "probe-large"})
	if err != nil || v.AssetsSize != 512+size+1024 {
		t.Fatalf("deployed version: %v %v", v, err)
	}
	memoryBound(t, tg, 50*MB, func() {
		stream, err := tg.Admin.Games.FetchBlob(c, &rccv1.FetchBlobRequest{Sha256: v.AssetsSha256})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got += int64(len(msg.Chunk))
		}
		if got != v.AssetsSize {
			t.Fatalf("fetched %d bytes of %d", got, v.AssetsSize)
		}
	})
	if _, err := tg.Admin.Games.DeleteGame(c, &rccv1.DeleteGameRequest{Game: "probe-large"}); err != nil {
		t.Fatal(err)
	}
}

// tarHeader is the 512-byte header of a tar archive's first file, of 100
// bytes.
func tarHeader(t *testing.T) []byte { return tarHeaderOf(t, "a.txt", 100) }

// tarHeaderOf is the 512-byte header of a file of size bytes.
func tarHeaderOf(t *testing.T, name string, size int64) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[:512]
}

// upload streams an upload of game: the target's module, then first and
// chunks of chunk, total bytes of assets with first, stopping when the
// coordinator answers. It returns the assets bytes sent and the answer.
func upload(c context.Context, tg *Target, game string, first, chunk []byte, total int64) (int64, error) {
	stream, err := tg.Admin.Games.UploadVersion(c)
	if err != nil {
		return 0, err
	}
	parts := []*rccv1.UploadVersionRequest{
		{Part: &rccv1.UploadVersionRequest_Header{Header: &rccv1.UploadHeader{Game: game}}},
		{Part: &rccv1.UploadVersionRequest_ModuleChunk{ModuleChunk: tg.Module}},
	}
	for _, p := range parts {
		if err := stream.Send(p); err != nil {
			_, err := stream.CloseAndRecv()
			return 0, err
		}
	}
	var sent int64
	send := func(b []byte) bool {
		if err := stream.Send(&rccv1.UploadVersionRequest{Part: &rccv1.UploadVersionRequest_AssetsChunk{AssetsChunk: b}}); err != nil {
			return false
		}
		sent += int64(len(b))
		return true
	}
	if len(first) > 0 && !send(first) {
		_, err := stream.CloseAndRecv()
		return sent, err
	}
	for sent < total {
		if !send(chunk[:min(int64(len(chunk)), total-sent)]) {
			break
		}
	}
	_, err = stream.CloseAndRecv()
	if errors.Is(err, io.EOF) {
		err = errors.New("upload: stream ended without an answer")
	}
	return sent, err
}
