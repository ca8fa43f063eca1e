package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// readLogs reads a Logs stream to its end.
func readLogs(t *testing.T, e *env, req *rccv1.LogsRequest) ([]*rccv1.LogEntry, error) {
	t.Helper()
	s, err := e.admin.Instances.Logs(context.Background(), req)
	if err != nil {
		return nil, err
	}
	var out []*rccv1.LogEntry
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

func appendLines(t *testing.T, x *fakeExecutor, id string, from, n int) {
	t.Helper()
	il := &rccv1.InstanceLogs{InstanceId: id}
	for k := from; k < from+n; k++ {
		il.Entries = append(il.Entries, &rccv1.LogEntry{Time: timestamppb.Now(), Frame: uint64(k),
			Stream: rccv1.LogStream_LOG_STREAM_STDOUT, Text: fmt.Sprintf("line %d", k)})
	}
	if _, err := x.c.Executors.AppendLogs(context.Background(), &rccv1.AppendLogsRequest{ExecutorId: x.id,
		Instances: []*rccv1.InstanceLogs{il}}); err != nil {
		t.Fatal(err)
	}
}

func spawnRunning(t *testing.T, e *env, x *fakeExecutor) *rccv1.Instance {
	t.Helper()
	in, err := e.admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the executor to run the instance", 5*time.Second, func() bool { return x.has(in.Id) })
	return in
}

func TestLogs(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), func(c *coordinator.Config) { c.LogEntries = 20 })
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex1", 0)
	in := spawnRunning(t, e, x)

	appendLines(t, x, in.Id, 0, 5)
	got, err := readLogs(t, e, &rccv1.LogsRequest{Id: in.Id})
	if err != nil || len(got) != 5 {
		t.Fatalf("logs = %v, %v", got, err)
	}
	for k, m := range got {
		if m.Seq != uint64(k+1) || m.Text != fmt.Sprintf("line %d", k) || m.Frame != uint64(k) ||
			m.Stream != rccv1.LogStream_LOG_STREAM_STDOUT || m.InstanceId != in.Id || m.Time == nil {
			t.Fatalf("entry %d = %v", k, m)
		}
	}
	if got, _ := readLogs(t, e, &rccv1.LogsRequest{Id: in.Id, Tail: 2}); len(got) != 2 || got[0].Seq != 4 {
		t.Fatalf("tail 2 = %v", got)
	}
	if got, _ := readLogs(t, e, &rccv1.LogsRequest{Id: in.Id, AfterSeq: 3}); len(got) != 2 || got[0].Seq != 4 {
		t.Fatalf("after 3 = %v", got)
	}
	if got, _ := readLogs(t, e, &rccv1.LogsRequest{Id: in.Id, SinceSeconds: 60}); len(got) != 5 {
		t.Fatalf("since 60 s = %v", got)
	}

	// A flood stays bounded by LogEntries.
	for k := range 10 {
		appendLines(t, x, in.Id, 5+k*10, 10)
	}
	got, _ = readLogs(t, e, &rccv1.LogsRequest{Id: in.Id})
	if len(got) != 20 || got[19].Seq != 105 || got[0].Seq != 86 {
		t.Fatalf("after a flood kept %d entries (%v..)", len(got), got[0])
	}

	// Bad requests.
	_, err = readLogs(t, e, &rccv1.LogsRequest{Id: "i-nope"})
	if code(err) != codes.NotFound || !strings.Contains(err.Error(), "i-nope") {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err = readLogs(t, e, &rccv1.LogsRequest{Id: "i-nope", Follow: true}); code(err) != codes.NotFound {
		t.Fatalf("follow unknown id: %v", err)
	}
	if _, err = readLogs(t, e, &rccv1.LogsRequest{}); code(err) != codes.InvalidArgument {
		t.Fatalf("no id: %v", err)
	}
	// Only the instance's executor appends, and only executors do.
	other := e.executor("ex2", 0)
	res, err := other.c.Executors.AppendLogs(ctx, &rccv1.AppendLogsRequest{ExecutorId: other.id,
		Instances: []*rccv1.InstanceLogs{
			{InstanceId: in.Id, Entries: []*rccv1.LogEntry{{Stream: rccv1.LogStream_LOG_STREAM_STDOUT, Text: "forged"}}},
			{InstanceId: "i-nope", Entries: []*rccv1.LogEntry{{Stream: rccv1.LogStream_LOG_STREAM_STDOUT, Text: "lost"}}},
		}})
	if err != nil || strings.Join(res.Refused, " ") != in.Id+" i-nope" {
		t.Fatalf("append by another executor: %v, %v; want both instances refused", res, err)
	}
	_, err = other.c.Executors.AppendLogs(ctx, &rccv1.AppendLogsRequest{ExecutorId: x.id,
		Instances: []*rccv1.InstanceLogs{{InstanceId: in.Id, Entries: []*rccv1.LogEntry{{Stream: rccv1.LogStream_LOG_STREAM_STDOUT, Text: "forged"}}}}})
	if code(err) != codes.PermissionDenied {
		t.Fatalf("append in another executor's name: %v", err)
	}
	_, err = e.admin.Executors.AppendLogs(ctx, &rccv1.AppendLogsRequest{ExecutorId: x.id,
		Instances: []*rccv1.InstanceLogs{{InstanceId: in.Id, Entries: []*rccv1.LogEntry{{Stream: rccv1.LogStream_LOG_STREAM_STDOUT, Text: "forged"}}}}})
	if code(err) != codes.PermissionDenied {
		t.Fatalf("append by an admin: %v", err)
	}
	if s, err := x.c.Instances.Logs(ctx, &rccv1.LogsRequest{Id: in.Id}); err != nil {
		t.Fatal(err)
	} else if _, err := s.Recv(); code(err) != codes.PermissionDenied {
		t.Fatalf("logs read by an executor: %v", err)
	}
	if got, _ := readLogs(t, e, &rccv1.LogsRequest{Id: in.Id, Tail: 1}); got[0].Text == "forged" {
		t.Fatal("a forged line was stored")
	}
}

// TestLogsFollow follows an instance's log: entries come as they are
// appended, and the stream ends once the instance has ended.
func TestLogsFollow(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), func(c *coordinator.Config) { c.LogPollInterval = time.Hour })
	testLogsFollow(t, e, e)
}

// TestLogsFollowTwoCoordinators follows on one coordinator what an
// executor appends through another, on one PostgreSQL.
func TestLogsFollowTwoCoordinators(t *testing.T) {
	url := pgtest.New(t)
	open := func() store.Store {
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	is := newIssuer(t)
	tune := func(c *coordinator.Config) { c.LogPollInterval = 100 * time.Millisecond }
	a := start(t, open(), is, tune)
	b := start(t, open(), is, tune)
	testLogsFollow(t, a, b)
}

func testLogsFollow(t *testing.T, through, follow *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	through.deploy("arena")
	x := through.executor("ex1", 0)
	in := spawnRunning(t, through, x)
	appendLines(t, x, in.Id, 0, 3)

	s, err := follow.admin.Instances.Logs(ctx, &rccv1.LogsRequest{Id: in.Id, Follow: true, Tail: 2})
	if err != nil {
		t.Fatal(err)
	}
	recv := func(want string) {
		t.Helper()
		m, err := s.Recv()
		if err != nil || m.Text != want {
			t.Fatalf("received %v, %v; want %q", m, err, want)
		}
	}
	recv("line 1")
	recv("line 2")
	appendLines(t, x, in.Id, 3, 2)
	recv("line 3")
	recv("line 4")

	// The executor pushes its last lines, then reports the end.
	appendLines(t, x, in.Id, 5, 1)
	if _, err := through.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in.Id}); err != nil {
		t.Fatal(err)
	}
	recv("line 5")
	if m, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the end: %v, %v; want the stream's end", m, err)
	}
	// And the log stays readable.
	got, err := readLogs(t, follow, &rccv1.LogsRequest{Id: in.Id, Follow: true})
	if err != nil || len(got) != 6 {
		t.Fatalf("log of the ended instance: %d entries, %v", len(got), err)
	}
}
