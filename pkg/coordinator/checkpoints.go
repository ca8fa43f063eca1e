package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/store"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Checkpoints (docs/snapshots.md "Checkpoints"): executors ship the
// snapshots of the instances that ask for it, and the frames run after
// each, to the store; when an executor is lost, its instances with a
// checkpoint go back to pending (store.ExpireExecutors) and the executor
// they are placed on next resumes them from it.

// The bounds of checkpoints.
const (
	// MinCheckpointEvery and MaxCheckpointEvery bound a checkpoint interval.
	MinCheckpointEvery = 100 * time.Millisecond
	MaxCheckpointEvery = 24 * time.Hour
	// MaxCheckpointBytes bounds a snapshot shipped: a 64 MiB memory,
	// compressed, and its header.
	MaxCheckpointBytes = 80 << 20
)

// checkpointStore is what the checkpoints of executors use.
type checkpointStore interface {
	PutBlobFrom(ctx context.Context, sha string, size int64, r io.Reader, now time.Time) (existed bool, err error)
	SaveCheckpoint(ctx context.Context, cp store.Checkpoint) (store.Checkpoint, error)
	AppendCheckpointInputs(ctx context.Context, instanceID, executorID string, in store.CheckpointInputs) error
	GetCheckpoint(ctx context.Context, instanceID string) (store.Checkpoint, []store.CheckpointInputs, error)
}

// checkpointEvery checks a checkpoint interval in milliseconds (what names
// the field in errors); 0 means none.
func checkpointEvery(what string, msec uint32) (time.Duration, error) {
	d := time.Duration(msec) * time.Millisecond
	if d != 0 && (d < MinCheckpointEvery || d > MaxCheckpointEvery) {
		return 0, invalid("%s %v: want 0 (none) or %v to %v", what, d, MinCheckpointEvery, MaxCheckpointEvery)
	}
	return d, nil
}

func checkpointProto(cp store.Checkpoint) *rccv1.CheckpointInfo {
	return &rccv1.CheckpointInfo{Frame: cp.Frame, SnapshotSha256: cp.SnapshotSHA256, SnapshotSize: cp.SnapshotSize,
		LastFrame: cp.LastFrame, SavedAt: tsOf(cp.SavedAt), Version: cp.Version}
}

func (s *executorService) SaveCheckpoint(stream rccv1.ExecutorService_SaveCheckpointServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	switch {
	case h == nil:
		return invalid("save checkpoint: the first message must be the header")
	case h.InstanceId == "" || h.ExecutorId == "":
		return invalid("save checkpoint: executor_id and instance_id are required")
	case h.Size <= 0 || h.Size > MaxCheckpointBytes:
		return invalid("save checkpoint: size %d: want 1 to %d bytes", h.Size, MaxCheckpointBytes)
	}
	if err := s.c.checkExecutor(ctx, h.ExecutorId); err != nil {
		return err
	}
	// Whole before it is stored: a store transaction never waits on the
	// network.
	buf := bytes.NewBuffer(make([]byte, 0, h.Size))
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if int64(buf.Len()+len(m.GetChunk())) > h.Size {
			return invalid("save checkpoint: more than the %d bytes announced", h.Size)
		}
		buf.Write(m.GetChunk())
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := hex.EncodeToString(sum[:]); int64(buf.Len()) != h.Size || got != h.Sha256 {
		return invalid("save checkpoint: received %d bytes with sha256 %s, announced %d with %s", buf.Len(), got, h.Size, h.Sha256)
	}
	c := s.c
	if _, err := s.st.PutBlobFrom(ctx, h.Sha256, h.Size, buf, c.now()); err != nil {
		return grpcError(err)
	}
	cp, err := s.st.SaveCheckpoint(ctx, store.Checkpoint{InstanceID: h.InstanceId, ExecutorID: h.ExecutorId, Frame: h.Frame,
		Version: h.Version, SnapshotSHA256: h.Sha256, SnapshotSize: h.Size, SavedAt: c.now()})
	if err != nil {
		return grpcError(err)
	}
	c.metrics.checkpoints.Inc()
	c.metrics.checkpointBytes.Add(float64(h.Size))
	return stream.SendAndClose(&rccv1.SaveCheckpointResponse{Checkpoint: checkpointProto(cp)})
}

func (s *executorService) AppendCheckpointInputs(ctx context.Context, req *rccv1.AppendCheckpointInputsRequest) (*rccv1.AppendCheckpointInputsResponse, error) {
	if req.InstanceId == "" || req.ExecutorId == "" {
		return nil, invalid("append checkpoint inputs: executor_id and instance_id are required")
	}
	if req.LastFrame < req.FirstFrame || req.FirstFrame == 0 {
		return nil, invalid("append checkpoint inputs: frames %d to %d", req.FirstFrame, req.LastFrame)
	}
	if err := s.c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return nil, err
	}
	err := s.st.AppendCheckpointInputs(ctx, req.InstanceId, req.ExecutorId,
		store.CheckpointInputs{FirstFrame: req.FirstFrame, LastFrame: req.LastFrame, Frames: req.Frames})
	if err != nil {
		return nil, grpcError(err)
	}
	return &rccv1.AppendCheckpointInputsResponse{}, nil
}

func (s *executorService) GetCheckpoint(req *rccv1.GetCheckpointRequest, stream rccv1.ExecutorService_GetCheckpointServer) error {
	ctx := stream.Context()
	if err := s.c.checkExecutor(ctx, req.ExecutorId); err != nil {
		return err
	}
	in, err := s.st.GetInstance(ctx, req.InstanceId)
	if err != nil {
		return grpcError(err)
	}
	if in.ExecutorID != req.ExecutorId {
		return status.Errorf(codes.FailedPrecondition, "instance %s is not assigned to executor %s", req.InstanceId, req.ExecutorId)
	}
	cp, ins, err := s.st.GetCheckpoint(ctx, req.InstanceId)
	if err != nil {
		return grpcError(err)
	}
	if err := stream.Send(&rccv1.GetCheckpointResponse{Checkpoint: checkpointProto(cp)}); err != nil {
		return err
	}
	for _, seg := range ins {
		if err := stream.Send(&rccv1.GetCheckpointResponse{Frames: seg.Frames}); err != nil {
			return err
		}
	}
	return nil
}
