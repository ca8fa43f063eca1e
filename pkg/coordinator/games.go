package coordinator

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"

	"github.com/rcc-games/rcc/pkg/store"
)

// gameNameRE is what a game name may be: it appears in URLs and file names.
var gameNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// blobChunk is the size of FetchBlob messages.
const blobChunk = 1 << 20

// The largest sandbox limits a deploy may ask for. A larger fuel budget
// lets one frame hold an executor's core for longer; 1024 pages (64 MiB)
// is the sandbox's memory cap.
const (
	MaxInitFuel         = 100_000_000_000
	MaxFrameFuel        = 10_000_000_000
	MaxMemoryLimitPages = 1024
	// MaxSnapshotHz is the largest snapshot rate a version or a spawn may
	// set, the executor's largest tick rate.
	MaxSnapshotHz = 1000
)

// limitsFromProto checks a deploy's limits; nil means the defaults.
func limitsFromProto(l *rccv1.Limits) (store.Limits, error) {
	if l == nil {
		return store.Limits{}, nil
	}
	if l.InitFuel > MaxInitFuel {
		return store.Limits{}, invalid("upload: init_fuel %d is above the maximum of %d", l.InitFuel, uint64(MaxInitFuel))
	}
	if l.FrameFuel > MaxFrameFuel {
		return store.Limits{}, invalid("upload: frame_fuel %d is above the maximum of %d", l.FrameFuel, uint64(MaxFrameFuel))
	}
	if l.MemoryLimitPages > MaxMemoryLimitPages {
		return store.Limits{}, invalid("upload: memory_limit_pages %d is above the maximum of %d (64 MiB)", l.MemoryLimitPages, MaxMemoryLimitPages)
	}
	if l.SnapshotHz > MaxSnapshotHz {
		return store.Limits{}, invalid("upload: snapshot_hz %d is above the maximum of %d", l.SnapshotHz, MaxSnapshotHz)
	}
	every, err := checkpointEvery("upload: checkpoint_every_ms", l.CheckpointEveryMs)
	if err != nil {
		return store.Limits{}, err
	}
	return store.Limits{InitFuel: l.InitFuel, FrameFuel: l.FrameFuel, MemoryLimitPages: l.MemoryLimitPages, SnapshotHz: l.SnapshotHz,
		CheckpointEvery: every}, nil
}

type gameService struct {
	rccv1.UnimplementedGameServiceServer
	c  *Coordinator
	st gameStore
}

func (g *gameService) UploadVersion(stream rccv1.GameService_UploadVersionServer) error {
	c := g.c
	ctx := stream.Context()
	var hdr *rccv1.UploadHeader
	var limits store.Limits
	var module bytes.Buffer
	var assets *assetsSpool
	defer func() {
		if assets != nil {
			assets.close()
		}
	}()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch p := msg.Part.(type) {
		case *rccv1.UploadVersionRequest_Header:
			if hdr != nil {
				return invalid("upload: a second header")
			}
			hdr = p.Header
			if err := checkText("upload: description", hdr.Description, MaxDescriptionBytes); err != nil {
				return err
			}
			if limits, err = limitsFromProto(hdr.Limits); err != nil {
				return err
			}
		case *rccv1.UploadVersionRequest_ModuleChunk:
			if hdr == nil {
				return invalid("upload: module bytes before the header")
			}
			if int64(module.Len()+len(p.ModuleChunk)) > c.cfg.MaxModuleBytes {
				return status.Errorf(codes.ResourceExhausted, "upload: module larger than %d bytes", c.cfg.MaxModuleBytes)
			}
			module.Write(p.ModuleChunk)
		case *rccv1.UploadVersionRequest_AssetsChunk:
			if hdr == nil {
				return invalid("upload: assets bytes before the header")
			}
			if assets == nil {
				if assets, err = newAssetsSpool(c.cfg.SpoolDir); err != nil {
					return status.Error(codes.Internal, err.Error())
				}
			}
			if assets.size+int64(len(p.AssetsChunk)) > c.cfg.MaxAssetsBytes {
				return status.Errorf(codes.ResourceExhausted, "upload: assets larger than %d bytes", c.cfg.MaxAssetsBytes)
			}
			if err := assets.write(p.AssetsChunk); errors.Is(err, errNotArchive) {
				return invalid("upload: assets refused: %v", err)
			} else if err != nil {
				return status.Error(codes.Internal, err.Error())
			}
		}
	}
	if hdr == nil {
		return invalid("upload: no header")
	}
	if !gameNameRE.MatchString(hdr.Game) {
		return invalid("upload: game name %q: use 1 to 63 of a-z, 0-9, '-' and '_', starting with a letter or digit", hdr.Game)
	}
	if module.Len() == 0 {
		return invalid("upload: no module bytes")
	}
	if err := c.cfg.ValidateModule(module.Bytes()); err != nil {
		return invalid("upload: module refused: %v", err)
	}
	var assetsSHA string
	if assets != nil && assets.size > 0 {
		var err error
		if assetsSHA, err = assets.finish(c.cfg.MaxAssetsUnpackedBytes); err != nil {
			return invalid("upload: assets refused: %v", err)
		}
		if hdr.AssetsSha256 != "" && hdr.AssetsSha256 != assetsSHA {
			return invalid("upload: assets sha256 is %s, the header says %s", assetsSHA, hdr.AssetsSha256)
		}
	}
	now := c.now()
	modSHA, existed, err := g.st.PutBlob(ctx, module.Bytes(), now)
	if err != nil {
		return grpcError(err)
	}
	if hdr.ModuleSha256 != "" && hdr.ModuleSha256 != modSHA {
		return invalid("upload: module sha256 is %s, the header says %s", modSHA, hdr.ModuleSha256)
	}
	if assetsSHA != "" {
		r, err := assets.reader()
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		if _, err = g.st.PutBlobFrom(ctx, assetsSHA, assets.size, r, now); err != nil {
			return grpcError(err)
		}
	}
	v, unchanged, err := g.st.CreateVersion(ctx, store.NewVersion{Game: hdr.Game, ModuleSHA256: modSHA, AssetsSHA256: assetsSHA,
		Description: hdr.Description, Limits: limits, Now: now})
	if err != nil {
		return grpcError(err)
	}
	if !unchanged {
		c.metrics.deploys.Inc()
		c.log.Info("game version deployed", "game", v.Game, "version", v.Version, "module_sha256", v.ModuleSHA256, "module_size", v.ModuleSize,
			"init_fuel", v.Limits.InitFuel, "frame_fuel", v.Limits.FrameFuel, "memory_limit_pages", v.Limits.MemoryLimitPages)
	}
	return stream.SendAndClose(&rccv1.UploadVersionResponse{Version: versionProto(v), ModuleDeduplicated: existed, Unchanged: unchanged})
}

func (g *gameService) ListGames(ctx context.Context, req *rccv1.ListGamesRequest) (*rccv1.ListGamesResponse, error) {
	size, err := pageSize(req.PageSize, 0)
	if err != nil {
		return nil, err
	}
	games, err := g.st.ListGames(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &rccv1.ListGamesResponse{}
	for _, gm := range games {
		out.Games = append(out.Games, &rccv1.Game{Name: gm.Name, LatestVersion: gm.LatestVersion, VersionCount: gm.VersionCount, UpdatedAt: tsOf(gm.UpdatedAt)})
	}
	out.Games, out.NextPageToken, err = listPage(out.Games, (*rccv1.Game).GetName, protoSize[*rccv1.Game], size, req.PageToken)
	return out, err
}

func (g *gameService) ListVersions(ctx context.Context, req *rccv1.ListVersionsRequest) (*rccv1.ListVersionsResponse, error) {
	size, err := pageSize(req.PageSize, 0)
	if err != nil {
		return nil, err
	}
	vs, err := g.st.ListVersions(ctx, req.Game)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &rccv1.ListVersionsResponse{}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionProto(v))
	}
	key := func(v *rccv1.GameVersion) string { return strconv.FormatUint(uint64(v.Version), 10) }
	out.Versions, out.NextPageToken, err = listPage(out.Versions, key, protoSize[*rccv1.GameVersion], size, req.PageToken)
	return out, err
}

func (g *gameService) GetVersion(ctx context.Context, req *rccv1.GetVersionRequest) (*rccv1.GameVersion, error) {
	v, err := g.st.GetVersion(ctx, req.Game, req.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	return versionProto(v), nil
}

func (g *gameService) FetchBlob(req *rccv1.FetchBlobRequest, stream rccv1.GameService_FetchBlobServer) error {
	first := true
	err := g.st.ReadBlob(stream.Context(), req.Sha256, func(size int64, data []byte) error {
		// A piece larger than a message (a blob stored whole) goes in
		// several.
		for off := 0; off == 0 || off < len(data); off += blobChunk {
			msg := &rccv1.FetchBlobResponse{Chunk: data[off:min(off+blobChunk, len(data))]}
			if first {
				msg.TotalSize, first = size, false
			}
			if err := stream.Send(msg); err != nil {
				return err
			}
			if len(data) == 0 {
				break
			}
		}
		return nil
	})
	return grpcError(err)
}

func (g *gameService) DeleteGame(ctx context.Context, req *rccv1.DeleteGameRequest) (*rccv1.DeleteGameResponse, error) {
	if req.Game == "" {
		return nil, invalid("delete game: game is empty")
	}
	vs, err := g.st.DeleteGame(ctx, req.Game, req.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &rccv1.DeleteGameResponse{}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionProto(v))
		g.c.log.Info("game version removed", "game", v.Game, "version", v.Version, "module_sha256", v.ModuleSHA256)
	}
	return out, nil
}
