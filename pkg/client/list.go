package client

import (
	"context"

	"google.golang.org/protobuf/proto"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// ListInstances lists the instances req matches, newest first, following
// the coordinator's pages (page_token) to the end, or until req.Limit of
// them when it is set. req is not changed.
func (c *Client) ListInstances(ctx context.Context, req *rccv1.ListInstancesRequest) ([]*rccv1.Instance, error) {
	page := proto.CloneOf(req)
	var out []*rccv1.Instance
	for {
		if req.Limit > 0 {
			page.Limit = req.Limit - uint32(len(out))
		}
		res, err := c.Instances.List(ctx, page)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Instances...)
		if res.NextPageToken == "" || (req.Limit > 0 && len(out) >= int(req.Limit)) {
			return out, nil
		}
		page.PageToken = res.NextPageToken
	}
}

// follow calls page with each next page token, from the first page, until
// it returns none, and returns every entry.
func follow[T any](page func(token string) ([]T, string, error)) ([]T, error) {
	var out []T
	token := ""
	for {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// ListExecutors lists every executor, following the coordinator's pages.
func (c *Client) ListExecutors(ctx context.Context) ([]*rccv1.Executor, error) {
	return follow(func(token string) ([]*rccv1.Executor, string, error) {
		res, err := c.Executors.List(ctx, &rccv1.ListExecutorsRequest{PageToken: token})
		return res.GetExecutors(), res.GetNextPageToken(), err
	})
}

// ListGames lists every game, following the coordinator's pages.
func (c *Client) ListGames(ctx context.Context) ([]*rccv1.Game, error) {
	return follow(func(token string) ([]*rccv1.Game, string, error) {
		res, err := c.Games.ListGames(ctx, &rccv1.ListGamesRequest{PageToken: token})
		return res.GetGames(), res.GetNextPageToken(), err
	})
}

// ListVersions lists every version of game, oldest first, following the
// coordinator's pages.
func (c *Client) ListVersions(ctx context.Context, game string) ([]*rccv1.GameVersion, error) {
	return follow(func(token string) ([]*rccv1.GameVersion, string, error) {
		res, err := c.Games.ListVersions(ctx, &rccv1.ListVersionsRequest{Game: game, PageToken: token})
		return res.GetVersions(), res.GetNextPageToken(), err
	})
}
