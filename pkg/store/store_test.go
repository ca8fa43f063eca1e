package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSQLiteMemory(t *testing.T) {
	s, err := store.Open(context.Background(), "sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenUnsupported(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://u:secret@h/db")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.Open(context.Background(), pgtest.New(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestPostgresMigrateTwice opens the same database from two stores at once,
// as two coordinators starting together do.
func TestPostgresMigrateTwice(t *testing.T) {
	url := pgtest.New(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			s, err := store.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestClosedUnavailable checks that a call on a closed store says the
// database is unavailable, on both engines.
func TestClosedUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "rcc.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.New(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(context.Background(), tc.url(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ListGames(context.Background()); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("ListGames on a closed store: %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestPostgresJoinLockedInstance: on PostgreSQL a join does not take an
// instance whose row is held with KEY SHARE (what inserting a checkpoint
// or its inputs takes on the instance they reference) as full: it joins
// it rather than making a new instance its players would be scattered to.
func TestPostgresJoinLockedInstance(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	sha, _, err := s.PutBlob(ctx, []byte("m1"), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: sha, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterExecutor(ctx, store.Registration{Name: "ex1", WSURL: "ws://ex1/play"}, now); err != nil {
		t.Fatal(err)
	}
	join := func(player string) store.JoinResult {
		t.Helper()
		r, err := s.Join(ctx, store.JoinQuery{Game: "arena", PlayerID: player, SeatID: store.NewID("t-"),
			SeatExpires: now.Add(time.Minute), NewInstance: store.SpawnSpec{MaxPlayers: 8, LeaseSeconds: 60},
			Placement: store.Placement{Now: now, LiveSince: now.Add(-10 * time.Second)}})
		if err != nil {
			t.Fatalf("join %s: %v", player, err)
		}
		return r
	}
	first := join("p0")
	if !first.Created {
		t.Fatalf("first join %+v: want a new instance", first)
	}
	id := first.Instance.ID

	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM instances WHERE id = $1 FOR KEY SHARE`, id); err != nil {
		t.Fatal(err)
	}
	if r := join("p1"); r.Created || r.Instance.ID != id {
		t.Errorf("join beside a KEY SHARE lock went to %s (created %v), want %s", r.Instance.ID, r.Created, id)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	if in, err := s.GetInstance(ctx, id); err != nil || in.Reserved != 2 {
		t.Errorf("instance %+v, %v: want 2 seats reserved", in, err)
	}
}
