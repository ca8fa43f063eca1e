package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// instanceColumns are the columns of instance ls, and of every change
// --watch prints (after a TIME column).
var instanceColumns = []string{"ID", "GAME", "VERSION", "STATE", "PLAYERS", "TICK P99", "LEASE LEFT", "EXECUTOR", "AGE", "LABELS"}

// instanceRow is an instance's cells under instanceColumns.
func instanceRow(in *rccv1.Instance, now time.Time) []string {
	exec := in.ExecutorId
	if exec == "" {
		exec = "-"
	}
	tick := "-"
	if in.Stats != nil {
		tick = fmt.Sprintf("%.2f ms", in.Stats.TickP99Ms)
	}
	return []string{in.Id, in.Game, fmt.Sprint(in.Version), stateName(in.State), fmt.Sprintf("%d/%d", in.Players+in.Reserved, in.MaxPlayers),
		tick, leaseLeft(in, now), exec, shortDuration(now.Sub(in.CreatedAt.AsTime())), labelString(in.Labels)}
}

// watchWidths are the column widths of a --watch table, which cannot
// align on rows it has not seen yet.
var watchWidths = []int{8, 20, 12, 7, 8, 7, 9, 10, 20, 6, 0}

// watchPrinter prints instance changes as JSON Lines (every event, live
// figures included) or as table rows (an event that changes no more than
// an instance's live figures, as each heartbeat does, prints no row).
type watchPrinter struct {
	w      io.Writer
	json   bool
	header bool
	// last is what the last row of each instance showed, but its figures.
	last map[string]string
	// loc is the zone of the TIME column; nil is the local one.
	loc *time.Location
}

func (p *watchPrinter) print(at time.Time, snapshot bool, in *rccv1.Instance) error {
	if p.json {
		t := at.UTC()
		return writeJSONLine(p.w, watchOut{At: &t, Snapshot: snapshot, Instance: instanceJSON(in, at)})
	}
	key := fmt.Sprint(in.State, in.Players, in.Reserved, in.MaxPlayers, in.ExecutorId, in.Reason,
		in.LeaseExpiresAt.AsTime().UnixMilli(), labelString(in.Labels))
	if p.last == nil {
		p.last = map[string]string{}
	}
	if p.last[in.Id] == key {
		return nil
	}
	p.last[in.Id] = key
	if !p.header {
		p.header = true
		if err := p.row(append([]string{"TIME"}, instanceColumns...)); err != nil {
			return err
		}
	}
	loc := p.loc
	if loc == nil {
		loc = time.Local
	}
	return p.row(append([]string{at.In(loc).Format(time.TimeOnly)}, instanceRow(in, at)...))
}

func (p *watchPrinter) row(cells []string) error {
	var b strings.Builder
	for i, c := range cells {
		if i == len(cells)-1 {
			b.WriteString(c)
			break
		}
		fmt.Fprintf(&b, "%-*s  ", watchWidths[i], c)
	}
	_, err := fmt.Fprintln(p.w, strings.TrimRight(b.String(), " "))
	return err
}

// watchInstances follows the coordinator's Watch stream (with its
// snapshot of live instances unless skipSnapshot) and prints every
// instance event keep accepts, until ctx ends, the stream ends, or last
// reports that the event was the final one.
func watchInstances(ctx context.Context, c *client.Client, skipSnapshot bool, p *watchPrinter,
	keep, last func(*rccv1.Instance) bool) error {
	stream, err := c.Watch.Watch(ctx, &rccv1.WatchRequest{SkipSnapshot: skipSnapshot})
	if err != nil {
		return err
	}
	return follow(ctx, stream, p, keep, last)
}

// follow prints the instance events of stream that keep accepts until ctx
// ends, the stream ends, or last reports that the event was the final one.
func follow(ctx context.Context, stream rccv1.WatchService_WatchClient, p *watchPrinter, keep, last func(*rccv1.Instance) bool) error {
	for {
		ev, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		in := ev.GetInstance()
		if in == nil || !keep(in) {
			continue
		}
		if err := p.print(ev.At.AsTime(), ev.Snapshot, in); err != nil {
			return err
		}
		if last != nil && last(in) {
			return nil
		}
	}
}

// matchInstance reports whether in passes the filters of instance ls.
func matchInstance(req *rccv1.ListInstancesRequest, in *rccv1.Instance) bool {
	if req.Game != "" && in.Game != req.Game || req.ExecutorId != "" && in.ExecutorId != req.ExecutorId {
		return false
	}
	for k, v := range req.Labels {
		if in.Labels[k] != v {
			return false
		}
	}
	if len(req.States) == 0 {
		return true
	}
	for _, s := range req.States {
		if in.State == s {
			return true
		}
	}
	return false
}
