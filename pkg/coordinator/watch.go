package coordinator

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

type watchService struct {
	rccv1.UnimplementedWatchServiceServer
	c  *Coordinator
	st watchStore
}

// snapshotLimit bounds the instances sent in a Watch snapshot.
const snapshotLimit = 1000

func (w *watchService) Watch(req *rccv1.WatchRequest, stream rccv1.WatchService_WatchServer) error {
	ctx, end, result := w.c.streamContext(stream.Context())
	defer end()
	return result(w.watch(ctx, req, stream))
}

func (w *watchService) watch(ctx context.Context, req *rccv1.WatchRequest, stream rccv1.WatchService_WatchServer) error {
	c := w.c
	if ctx.Err() != nil {
		return nil // ended already: closing, or the caller left
	}
	id, events := c.hub.subscribe()
	defer c.hub.unsubscribe(id)
	// The response headers say the stream is subscribed: a client that
	// waits for them and then reads the store misses no change.
	hdr := metadata.MD{}
	if v := w.c.cfg.Version; v != "" {
		hdr.Set(client.VersionHeader, v)
	}
	if err := stream.SendHeader(hdr); err != nil {
		return err
	}
	if !req.SkipSnapshot {
		xs, err := w.st.ListExecutors(ctx)
		if err != nil {
			return grpcError(err)
		}
		ins, err := w.st.ListInstances(ctx, store.InstanceFilter{Limit: snapshotLimit,
			States: []store.InstanceState{store.StatePending, store.StateStarting, store.StateRunning, store.StateStopping}})
		if err != nil {
			return grpcError(err)
		}
		now := tsOf(c.now())
		for _, x := range xs {
			if err := stream.Send(&rccv1.WatchEvent{At: now, Snapshot: true, Subject: &rccv1.WatchEvent_Executor{Executor: executorProto(x)}}); err != nil {
				return err
			}
		}
		for _, in := range ins {
			if err := stream.Send(&rccv1.WatchEvent{At: now, Snapshot: true, Subject: &rccv1.WatchEvent_Instance{Instance: instanceProto(in)}}); err != nil {
				return err
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
}
