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
