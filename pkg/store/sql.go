package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// db implements Store over an engine; the SQL is shared by both backends.
// Its methods are filed by aggregate: games.go (blobs, games, versions),
// instances.go, seats.go (joins, seat reservations), executors.go and
// logs.go; this file holds what they share.
type db struct {
	e engine
}

// randomSeed returns a random instance seed, never 0.
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// NewID returns a random identifier with a prefix, such as "i-3f9a0c2e1b7d4a65".
func NewID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func encodeLabels(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeLabels(s string) map[string]string {
	m := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

// matchLabels reports whether have carries every label of want.
func matchLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *db) tx(ctx context.Context, fn func(conn) error) error {
	return s.e.translate(s.e.inTx(ctx, fn))
}

// ---- blobs and versions ----

func (s *db) ids(ctx context.Context, c conn, q string, args ...any) ([]string, error) {
	r, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, r.Err()
}

// errStopEach ends updateEach's loop early without an error.
var errStopEach = errors.New("stop")

// updateEach runs update on each id in order and returns the instances it
// changed (those for which it affected a row), read back in the same
// transaction. An update returning errStopEach ends the loop there.
func updateEach(ctx context.Context, c conn, ids []string, update func(id string) (int64, error)) ([]Instance, error) {
	var out []Instance
	for _, id := range ids {
		n, err := update(id)
		if errors.Is(err, errStopEach) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n == 1 {
			in, err := getInstance(ctx, c, id)
			if err != nil {
				return nil, err
			}
			out = append(out, in)
		}
	}
	return out, nil
}

func (s *db) Counts(ctx context.Context) (map[InstanceState]int, map[ExecutorState]int, error) {
	ins := map[InstanceState]int{}
	xs := map[ExecutorState]int{}
	for _, q := range []struct {
		sql string
		put func(string, int)
	}{
		{`SELECT state, COUNT(*) FROM instances GROUP BY state`, func(k string, n int) { ins[InstanceState(k)] = n }},
		{`SELECT state, COUNT(*) FROM executors GROUP BY state`, func(k string, n int) { xs[ExecutorState(k)] = n }},
	} {
		r, err := s.e.query(ctx, q.sql)
		if err != nil {
			return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
		}
		for r.Next() {
			var k string
			var n int64
			if err := r.Scan(&k, &n); err != nil {
				r.Close()
				return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
			}
			q.put(k, int(n))
		}
		r.Close()
		if err := r.Err(); err != nil {
			return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
		}
	}
	return ins, xs, nil
}

func (s *db) Ping(ctx context.Context) error { return s.e.translate(s.e.ping(ctx)) }

func (s *db) Close() error { return s.e.close() }
