package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// The blobs, games and versions: deploys, reads and removals.

func (s *db) PutBlob(ctx context.Context, data []byte, now time.Time) (string, bool, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var exists int64
	err := s.e.queryRow(ctx, `SELECT COUNT(*) FROM blobs WHERE sha256 = ?`, sha).Scan(&exists)
	if err != nil {
		return "", false, fmt.Errorf("put blob: %w", s.e.translate(err))
	}
	if exists > 0 {
		return sha, true, nil
	}
	n, err := s.e.exec(ctx, `INSERT INTO blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
		sha, int64(len(data)), data, ms(now))
	if err != nil {
		return "", false, fmt.Errorf("put blob: %w", s.e.translate(err))
	}
	return sha, n == 0, nil
}

// BlobChunkBytes is the size of the pieces PutBlobFrom stores a blob in.
const BlobChunkBytes = 1 << 20

func (s *db) PutBlobFrom(ctx context.Context, sha string, size int64, r io.Reader, now time.Time) (bool, error) {
	if size <= 0 {
		return false, fmt.Errorf("put blob %s: size %d: want a positive size", sha, size)
	}
	existed := false
	err := s.tx(ctx, func(c conn) error {
		n, err := c.exec(ctx, `INSERT INTO blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			sha, size, []byte{}, ms(now))
		if err != nil {
			return err
		}
		if n == 0 {
			existed = true
			return nil
		}
		h := sha256.New()
		buf := make([]byte, BlobChunkBytes)
		var total int64
		for seq := int64(0); ; seq++ {
			k, rerr := io.ReadFull(r, buf)
			if k > 0 {
				h.Write(buf[:k])
				total += int64(k)
				if _, err := c.exec(ctx, `INSERT INTO blob_chunks (sha256, seq, data) VALUES (?, ?, ?)`, sha, seq, buf[:k]); err != nil {
					return err
				}
			}
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				break
			}
			if rerr != nil {
				return rerr
			}
		}
		if got := hex.EncodeToString(h.Sum(nil)); total != size || got != sha {
			return fmt.Errorf("the bytes read are %d with sha256 %s, not %d with %s", total, got, size, sha)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("put blob %s: %w", sha, s.e.translate(err))
	}
	return existed, nil
}

func (s *db) GetBlob(ctx context.Context, sha string) ([]byte, error) {
	var out []byte
	err := s.ReadBlob(ctx, sha, func(size int64, chunk []byte) error {
		if out == nil {
			out = make([]byte, 0, size)
		}
		out = append(out, chunk...)
		return nil
	})
	return out, err
}

func (s *db) ReadBlob(ctx context.Context, sha string, fn func(size int64, chunk []byte) error) error {
	var size int64
	var data []byte
	err := s.e.queryRow(ctx, `SELECT size, data FROM blobs WHERE sha256 = ?`, sha).Scan(&size, &data)
	if err != nil {
		return fmt.Errorf("get blob %s: %w", sha, s.e.translate(notFound(err)))
	}
	if len(data) > 0 || size == 0 {
		if data == nil {
			data = []byte{}
		}
		return fn(size, data)
	}
	// Stored in pieces: read one at a time, holding no cursor while fn
	// runs (it may be sending to a slow client).
	var read int64
	for seq := int64(0); read < size; seq++ {
		var chunk []byte
		err := s.e.queryRow(ctx, `SELECT data FROM blob_chunks WHERE sha256 = ? AND seq = ?`, sha, seq).Scan(&chunk)
		if err != nil {
			return fmt.Errorf("get blob %s piece %d: %w", sha, seq, s.e.translate(notFound(err)))
		}
		read += int64(len(chunk))
		if err := fn(size, chunk); err != nil {
			return err
		}
	}
	return nil
}

const versionCols = `game, version, module_sha256, module_size, assets_sha256, assets_size, description, created_at,
	init_fuel, frame_fuel, memory_limit_pages, snapshot_hz, checkpoint_every_ms`

func scanVersion(r row) (Version, error) {
	var v Version
	var ver, created, initFuel, frameFuel, pages, snapshotHz, ckptEvery int64
	err := r.Scan(&v.Game, &ver, &v.ModuleSHA256, &v.ModuleSize, &v.AssetsSHA256, &v.AssetsSize, &v.Description, &created,
		&initFuel, &frameFuel, &pages, &snapshotHz, &ckptEvery)
	v.Version = uint32(ver)
	v.CreatedAt = fromMs(created)
	v.Limits = Limits{InitFuel: uint64(initFuel), FrameFuel: uint64(frameFuel), MemoryLimitPages: uint32(pages), SnapshotHz: uint32(snapshotHz),
		CheckpointEvery: time.Duration(ckptEvery) * time.Millisecond}
	return v, err
}

func latestVersion(ctx context.Context, c conn, game string) (uint32, error) {
	var v int64
	if err := c.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM versions WHERE game = ?`, game).Scan(&v); err != nil {
		return 0, err
	}
	return uint32(v), nil
}

func getVersion(ctx context.Context, c conn, game string, version uint32) (Version, error) {
	return getVersionLocked(ctx, c, game, version, "")
}

// getVersionShared reads a version to create an instance of it, holding
// it against removal until the transaction ends.
func getVersionShared(ctx context.Context, c conn, game string, version uint32) (Version, error) {
	return getVersionLocked(ctx, c, game, version, c.versionLock(false))
}

func getVersionLocked(ctx context.Context, c conn, game string, version uint32, lock string) (Version, error) {
	if version == 0 {
		latest, err := latestVersion(ctx, c, game)
		if err != nil {
			return Version{}, err
		}
		if latest == 0 {
			return Version{}, fmt.Errorf("game %q: %w", game, ErrNotFound)
		}
		version = latest
	}
	v, err := scanVersion(c.queryRow(ctx, `SELECT `+versionCols+` FROM versions WHERE game = ? AND version = ?`+lock, game, int64(version)))
	if err != nil {
		return Version{}, fmt.Errorf("game %q version %d: %w", game, version, notFound(err))
	}
	return v, nil
}

func (s *db) CreateVersion(ctx context.Context, nv NewVersion) (Version, bool, error) {
	if nv.Limits.InitFuel > math.MaxInt64 || nv.Limits.FrameFuel > math.MaxInt64 {
		return Version{}, false, fmt.Errorf("create version of %q: fuel limit above %d", nv.Game, int64(math.MaxInt64))
	}
	var out Version
	var unchanged bool
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tx(ctx, func(c conn) error {
			var modSize, assetsSize int64
			if err := c.queryRow(ctx, `SELECT size FROM blobs WHERE sha256 = ?`, nv.ModuleSHA256).Scan(&modSize); err != nil {
				return fmt.Errorf("module %s: %w", nv.ModuleSHA256, notFound(err))
			}
			if nv.AssetsSHA256 != "" {
				if err := c.queryRow(ctx, `SELECT size FROM blobs WHERE sha256 = ?`, nv.AssetsSHA256).Scan(&assetsSize); err != nil {
					return fmt.Errorf("assets %s: %w", nv.AssetsSHA256, notFound(err))
				}
			}
			latest, err := latestVersion(ctx, c, nv.Game)
			if err != nil {
				return err
			}
			if latest > 0 {
				lv, err := getVersion(ctx, c, nv.Game, latest)
				if err != nil {
					return err
				}
				if lv.ModuleSHA256 == nv.ModuleSHA256 && lv.AssetsSHA256 == nv.AssetsSHA256 && lv.Limits == nv.Limits {
					out, unchanged = lv, true
					return nil
				}
			}
			out = Version{Game: nv.Game, Version: latest + 1, ModuleSHA256: nv.ModuleSHA256, ModuleSize: modSize,
				AssetsSHA256: nv.AssetsSHA256, AssetsSize: assetsSize, Description: nv.Description, Limits: nv.Limits,
				CreatedAt: fromMs(ms(nv.Now))}
			unchanged = false
			_, err = c.exec(ctx, `INSERT INTO versions (`+versionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				out.Game, int64(out.Version), out.ModuleSHA256, out.ModuleSize, out.AssetsSHA256, out.AssetsSize, out.Description, ms(nv.Now),
				int64(nv.Limits.InitFuel), int64(nv.Limits.FrameFuel), int64(nv.Limits.MemoryLimitPages), int64(nv.Limits.SnapshotHz),
				nv.Limits.CheckpointEvery.Milliseconds())
			return err
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("create version of %q: %w", nv.Game, err)
	}
	return out, unchanged, nil
}

func (s *db) GetVersion(ctx context.Context, game string, version uint32) (Version, error) {
	v, err := getVersion(ctx, s.e, game, version)
	return v, s.e.translate(err)
}

func (s *db) ListGames(ctx context.Context) ([]Game, error) {
	r, err := s.e.query(ctx, `SELECT game, MAX(version), COUNT(*), MAX(created_at) FROM versions GROUP BY game ORDER BY game`)
	if err != nil {
		return nil, fmt.Errorf("list games: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Game
	for r.Next() {
		var g Game
		var latest, count, updated int64
		if err := r.Scan(&g.Name, &latest, &count, &updated); err != nil {
			return nil, fmt.Errorf("list games: %w", s.e.translate(err))
		}
		g.LatestVersion, g.VersionCount, g.UpdatedAt = uint32(latest), uint32(count), fromMs(updated)
		out = append(out, g)
	}
	return out, s.e.translate(r.Err())
}

func (s *db) ListVersions(ctx context.Context, game string) ([]Version, error) {
	r, err := s.e.query(ctx, `SELECT `+versionCols+` FROM versions WHERE game = ? ORDER BY version`, game)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Version
	for r.Next() {
		v, err := scanVersion(r)
		if err != nil {
			return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
		}
		out = append(out, v)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("game %q: %w", game, ErrNotFound)
	}
	return out, nil
}

func (s *db) DeleteGame(ctx context.Context, game string, version uint32) ([]Version, error) {
	var out []Version
	err := s.tx(ctx, func(c conn) error {
		out = nil
		// The rows are locked exclusively: a spawn or join of one of them
		// that read it first has committed its instance by the time the
		// live count below runs, and one that comes later finds it gone.
		q, args := `SELECT `+versionCols+` FROM versions WHERE game = ? ORDER BY version`+c.versionLock(true), []any{game}
		if version != 0 {
			q, args = `SELECT `+versionCols+` FROM versions WHERE game = ? AND version = ?`+c.versionLock(true), []any{game, int64(version)}
		}
		r, err := c.query(ctx, q, args...)
		if err != nil {
			return err
		}
		for r.Next() {
			v, err := scanVersion(r)
			if err != nil {
				r.Close()
				return err
			}
			out = append(out, v)
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			if version != 0 {
				return fmt.Errorf("game %q version %d: %w", game, version, ErrNotFound)
			}
			return fmt.Errorf("game %q: %w", game, ErrNotFound)
		}
		live := `SELECT COUNT(*) FROM instances WHERE game = ? AND state IN ('pending', 'starting', 'running', 'stopping')`
		del := `DELETE FROM versions WHERE game = ?`
		if version != 0 {
			live += ` AND version = ?`
			del += ` AND version = ?`
		}
		var n int64
		if err := c.queryRow(ctx, live, args...).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			what := fmt.Sprintf("game %q", game)
			if version != 0 {
				what = fmt.Sprintf("game %q version %d", game, version)
			}
			return fmt.Errorf("%s runs in %d live instance(s) (stop them first): %w", what, n, ErrConflict)
		}
		_, err = c.exec(ctx, del, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete game: %w", s.e.translate(err))
	}
	return out, nil
}

// ---- instances ----
