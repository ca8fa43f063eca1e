package agent_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestLogsOfAFailedInstance follows, through a real coordinator, the log
// of an instance whose Go guest panics on a real executor: the stream
// carries the guest's lines and lifecycle events with their frames, then
// ends with the instance; the reason has the panic text; and the log
// stays readable once the executor has dropped the instance.
func TestLogsOfAFailedInstance(t *testing.T) {
	e := newEnv(t)
	a := e.startAgent("ex-1", t.TempDir())
	e.deploy("panicky", gamebuildtest.Panicky(t))
	// Compiling the Go guest takes a minute or more under the race
	// detector on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	watch, err := e.admin.Watch.Watch(ctx, &rccv1.WatchRequest{SkipSnapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	params, _ := structpb.NewStruct(map[string]any{"panic_at": 90})
	in, err := e.admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: "panicky", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	// Watch is read all along: a watcher that falls behind loses events.
	watched := make(chan string, 1)
	go func() {
		defer close(watched)
		for {
			ev, err := watch.Recv()
			if err != nil {
				return
			}
			if w := ev.GetInstance(); w.GetId() == in.Id && w.State == rccv1.InstanceState_INSTANCE_STATE_FAILED {
				watched <- w.Reason
				return
			}
		}
	}()
	s, err := e.admin.Instances.Logs(ctx, &rccv1.LogsRequest{Id: in.Id, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []*rccv1.LogEntry
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("follow: %v after %d entries", err, len(got))
		}
		got = append(got, m)
	}
	var texts []string
	for k, m := range got {
		if m.Seq != uint64(k+1) || m.InstanceId != in.Id || m.Time == nil {
			t.Fatalf("entry %d = %v", k, m)
		}
		if m.Text == "frame 30" && (m.Frame != 30 || m.Stream != rccv1.LogStream_LOG_STREAM_STDOUT) {
			t.Errorf("entry %v, want frame 30 on stdout", m)
		}
		if m.Stream == rccv1.LogStream_LOG_STREAM_EVENT {
			texts = append(texts, m.Event)
		} else {
			texts = append(texts, m.Text)
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"panicky ready, panicking at frame 90\nstarted\n", "frame 90\nabout to fail\npanic: boom at frame 90\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %q:\n%s", want, all)
		}
	}
	last := got[len(got)-1]
	if last.Event != executor.EventFailed || !strings.Contains(last.Text, "panic: boom at frame 90") || last.Frame != 90 {
		t.Errorf("last entry %v, want the failure at frame 90 with the panic text", last)
	}

	got2, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
	if err != nil || got2.State != rccv1.InstanceState_INSTANCE_STATE_FAILED ||
		got2.Reason != "trap in tick: unreachable; stderr: panic: boom at frame 90" {
		t.Fatalf("instance %v, %v", got2, err)
	}
	const reason = "trap in tick: unreachable; stderr: panic: boom at frame 90"
	if got, ok := <-watched; !ok || got != reason {
		t.Errorf("watch: failed with reason %q (%v), want %q", got, ok, reason)
	}
	testenv.WaitFor(t, "the executor to drop the ended instance", 10*time.Second, func() bool {
		_, err := a.Executor().Instance(in.Id)
		return errors.Is(err, executor.ErrNotFound)
	})
	s, err = e.admin.Instances.Logs(ctx, &rccv1.LogsRequest{Id: in.Id, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.Recv(); err != nil || m.Seq != last.Seq || m.Event != executor.EventFailed {
		t.Fatalf("tail 1 once dropped: %v, %v", m, err)
	}
}
