package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestListPages: a list is paginated, by count and by bytes, so that it
// never exceeds a client's message limit however large the instances are;
// following the tokens gives every instance once, newest first.
func TestListPages(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	const big, small = 80, 150
	for n := range big {
		if _, err := e.admin.Instances.Spawn(ctx, coordinatortest.BigSpawn("arena", n)); err != nil {
			t.Fatal(err)
		}
	}
	for range small {
		if _, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"}); err != nil {
			t.Fatal(err)
		}
	}
	// A client at gRPC's default 4 MiB receive limit reads every page.
	tok := e.token("admin")
	c, err := client.Dial(e.addr, client.Token(tok), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(4<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	seen := map[string]bool{}
	var order []string
	req := &rccv1.ListInstancesRequest{}
	pages, cutByBytes := 0, 0
	for {
		res, err := c.Instances.List(ctx, req)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if len(res.Instances) == 0 || len(res.Instances) > coordinator.DefaultPageSize {
			t.Fatalf("page %d holds %d instances", pages, len(res.Instances))
		}
		if n := proto.Size(res); n > coordinator.MaxPageBytes+1024 {
			t.Fatalf("page %d is %d bytes, above %d", pages, n, coordinator.MaxPageBytes)
		}
		for _, in := range res.Instances {
			if seen[in.Id] {
				t.Fatalf("instance %s on two pages", in.Id)
			}
			seen[in.Id] = true
			order = append(order, in.Id)
		}
		if res.NextPageToken == "" {
			break
		}
		if len(res.Instances) < coordinator.DefaultPageSize {
			cutByBytes++
		}
		req.PageToken = res.NextPageToken
	}
	if len(seen) != big+small {
		t.Fatalf("pages gave %d instances, want %d", len(seen), big+small)
	}
	// 150 small ones and 80 big ones (~5.6 MB, newest last) take three
	// pages, the second cut by bytes.
	if pages < 3 || cutByBytes == 0 {
		t.Fatalf("%d pages, %d cut by bytes; want at least 3, one cut by bytes", pages, cutByBytes)
	}
	all, err := c.ListInstances(ctx, &rccv1.ListInstancesRequest{})
	if err != nil || len(all) != big+small {
		t.Fatalf("ListInstances: %d instances, %v", len(all), err)
	}
	for k, in := range all {
		if in.Id != order[k] {
			t.Fatalf("ListInstances[%d] = %s, the pages had %s", k, in.Id, order[k])
		}
	}
	if k := len(all) - 1; all[0].CreatedAt.AsTime().Before(all[k].CreatedAt.AsTime()) {
		t.Fatal("not newest first")
	}
	some, err := c.ListInstances(ctx, &rccv1.ListInstancesRequest{Limit: 130})
	if err != nil || len(some) != 130 || some[129].Id != order[129] {
		t.Fatalf("ListInstances with limit 130: %d, %v", len(some), err)
	}
	res, err := c.Instances.List(ctx, &rccv1.ListInstancesRequest{PageSize: 7})
	if err != nil || len(res.Instances) != 7 || res.NextPageToken == "" {
		t.Fatalf("page_size 7: %d instances, token %q, %v", len(res.GetInstances()), res.GetNextPageToken(), err)
	}

	for _, bad := range []*rccv1.ListInstancesRequest{{PageSize: coordinator.MaxPageSize + 1}, {PageToken: "not-a-token"}, {PageToken: "aTE6eDp5"}} {
		if _, err := c.Instances.List(ctx, bad); code(err) != codes.InvalidArgument {
			t.Fatalf("List(%v): %v, want InvalidArgument", bad, err)
		}
	}
}

// TestListPagesOfGamesVersionsExecutors: the lists of games, versions and
// executors are paginated too; their pages, followed, give what the
// client's whole-list calls give, in the same order.
func TestListPagesOfGamesVersionsExecutors(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	const n, size = 12, 5
	for k := range n {
		e.deploy(fmt.Sprintf("game-%02d", k))
		if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "versions", Module: minimalWasm, FrameFuel: uint64(k + 1)}); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("ex-%02d", k)
		x := e.dialAs(auth.RoleExecutor, name)
		_, err := x.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: name, WsUrl: "ws://" + name + ".test/play"})
		x.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	pages := func(what string, page func(token string) (ids []string, next string, err error)) []string {
		t.Helper()
		var all []string
		token := ""
		for p := 0; ; p++ {
			ids, next, err := page(token)
			if err != nil || len(ids) > size || p > n {
				t.Fatalf("%s page %d: %d entries, %v", what, p, len(ids), err)
			}
			all = append(all, ids...)
			if next == "" {
				return all
			}
			token = next
		}
	}
	games := pages("games", func(tok string) ([]string, string, error) {
		res, err := e.admin.Games.ListGames(ctx, &rccv1.ListGamesRequest{PageSize: size, PageToken: tok})
		var ids []string
		for _, g := range res.GetGames() {
			ids = append(ids, g.Name)
		}
		return ids, res.GetNextPageToken(), err
	})
	versions := pages("versions", func(tok string) ([]string, string, error) {
		res, err := e.admin.Games.ListVersions(ctx, &rccv1.ListVersionsRequest{Game: "versions", PageSize: size, PageToken: tok})
		var ids []string
		for _, v := range res.GetVersions() {
			ids = append(ids, fmt.Sprint(v.Version))
		}
		return ids, res.GetNextPageToken(), err
	})
	executors := pages("executors", func(tok string) ([]string, string, error) {
		res, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{PageSize: size, PageToken: tok})
		var ids []string
		for _, x := range res.GetExecutors() {
			ids = append(ids, x.Id)
		}
		return ids, res.GetNextPageToken(), err
	})
	allGames, err1 := e.admin.ListGames(ctx)
	allVersions, err2 := e.admin.ListVersions(ctx, "versions")
	allExecutors, err3 := e.admin.ListExecutors(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if len(games) != n+1 || len(allGames) != n+1 || len(versions) != n || len(allVersions) != n || len(executors) != n || len(allExecutors) != n {
		t.Fatalf("paged %d games, %d versions, %d executors; whole lists %d, %d, %d",
			len(games), len(versions), len(executors), len(allGames), len(allVersions), len(allExecutors))
	}
	for k := range n {
		if allVersions[k].Version != uint32(k+1) || versions[k] != fmt.Sprint(k+1) || executors[k] != allExecutors[k].Id || games[k] != allGames[k].Name {
			t.Fatalf("entry %d differs between the pages and the whole list", k)
		}
	}
	for _, err := range []error{
		func() error {
			_, err := e.admin.Games.ListGames(ctx, &rccv1.ListGamesRequest{PageToken: "nope"})
			return err
		}(),
		func() error {
			_, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{PageSize: coordinator.MaxPageSize + 1})
			return err
		}(),
	} {
		if code(err) != codes.InvalidArgument {
			t.Fatalf("bad page request: %v, want InvalidArgument", err)
		}
	}
}
