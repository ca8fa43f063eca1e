package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/grpc"

	"github.com/rcc-games/rcc/pkg/executor"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// checkpointChunk is the size of the pieces of a snapshot shipped to the
// coordinator, under its message limit.
const checkpointChunk = 128 << 10

// checkpointSink ships the executor's checkpoints to the coordinator's
// store (executor.CheckpointSink).
type checkpointSink struct{ a *Agent }

var _ executor.CheckpointSink = checkpointSink{}

// SaveSnapshot streams the snapshot to ExecutorService.SaveCheckpoint.
func (s checkpointSink) SaveSnapshot(ctx context.Context, id, version string, frame uint64, snapshot []byte) error {
	v, err := strconv.ParseUint(version, 10, 32)
	if err != nil {
		return fmt.Errorf("save checkpoint of %s: version %q: %w", id, version, err)
	}
	sum := sha256.Sum256(snapshot)
	st, err := s.a.c.Executors.SaveCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("save checkpoint of %s: %w", id, err)
	}
	err = st.Send(&rccv1.SaveCheckpointRequest{Part: &rccv1.SaveCheckpointRequest_Header{Header: &rccv1.SaveCheckpointHeader{
		ExecutorId: s.a.id, InstanceId: id, Frame: frame, Version: uint32(v), Sha256: hex.EncodeToString(sum[:]), Size: int64(len(snapshot))}}})
	for b := snapshot; err == nil && len(b) > 0; {
		n := min(len(b), checkpointChunk)
		err = st.Send(&rccv1.SaveCheckpointRequest{Part: &rccv1.SaveCheckpointRequest_Chunk{Chunk: b[:n]}})
		b = b[n:]
	}
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the answer says why
		return fmt.Errorf("save checkpoint of %s: %w", id, err)
	}
	if _, err := st.CloseAndRecv(); err != nil {
		return fmt.Errorf("save checkpoint of %s: %w", id, err)
	}
	return nil
}

// AppendInputs sends the frames to ExecutorService.AppendCheckpointInputs.
func (s checkpointSink) AppendInputs(ctx context.Context, id string, first, last uint64, frames []byte) error {
	_, err := s.a.c.Executors.AppendCheckpointInputs(ctx, &rccv1.AppendCheckpointInputsRequest{
		ExecutorId: s.a.id, InstanceId: id, FirstFrame: first, LastFrame: last, Frames: frames})
	if err != nil {
		return fmt.Errorf("append checkpoint inputs of %s: %w", id, err)
	}
	return nil
}

// fetchCheckpoint reads instance id's checkpoint from the coordinator: the
// snapshot and the frames logged after it.
func (a *Agent) fetchCheckpoint(ctx context.Context, id string) (*executor.Resume, *rccv1.CheckpointInfo, error) {
	st, err := a.c.Executors.GetCheckpoint(ctx, &rccv1.GetCheckpointRequest{ExecutorId: a.id, InstanceId: id}, grpc.WaitForReady(true))
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	var info *rccv1.CheckpointInfo
	var frames bytes.Buffer
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %w", err)
		}
		if info == nil {
			info = m.GetCheckpoint()
		}
		frames.Write(m.GetFrames())
	}
	if info == nil {
		return nil, nil, errors.New("checkpoint: the coordinator sent none")
	}
	snap, err := a.c.FetchBlob(ctx, info.SnapshotSha256)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint snapshot: %w", err)
	}
	return &executor.Resume{Snapshot: snap, Frames: frames.Bytes()}, info, nil
}
