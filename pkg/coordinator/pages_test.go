package coordinator_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

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
