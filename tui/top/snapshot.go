package top

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// WriteSnapshot prints executors and instances as the dashboard's tables,
// in plain text (for `rccctl top --once` and output that is not a
// terminal). limits gives the frame budgets of game versions (nil: the
// executor defaults).
func WriteSnapshot(w io.Writer, executors []*rccv1.Executor, instances []*rccv1.Instance, limits func(game string, version uint32) *rccv1.Limits, now time.Time) error {
	c := &cellCtx{now: now, limits: map[versionKey]*rccv1.Limits{}, names: map[string]string{}}
	for _, x := range executors {
		c.names[x.Id] = x.Name
	}
	if limits != nil {
		for _, in := range instances {
			k := versionKey{in.Game, in.Version}
			if _, ok := c.limits[k]; !ok {
				c.limits[k] = limits(in.Game, in.Version)
			}
		}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	writeTable(tw, c, executorColumns(), executors, nil)
	fmt.Fprintln(tw)
	writeTable(tw, c, instanceColumns(), instances, func(in *rccv1.Instance) string {
		if terminal(in.State) {
			return in.Reason
		}
		return ""
	})
	if err := tw.Flush(); err != nil {
		return err
	}
	// No trailing blanks where the last cells are empty.
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimRight(l, " \n")+strings.Repeat("\n", strings.Count(l, "\n"))); err != nil {
			return err
		}
	}
	return nil
}

// writeTable prints rows with every column; note, when it returns text,
// is added as a last column (an ended instance's reason).
func writeTable[T any](w io.Writer, c *cellCtx, cols []column[T], rows []T, note func(T) string) {
	titles := make([]string, len(cols))
	for i, col := range cols {
		titles[i] = col.title
	}
	if note != nil {
		titles = append(titles, "REASON")
	}
	fmt.Fprintln(w, strings.Join(titles, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, col := range cols {
			cells[i] = col.cell(c, r)
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		if note != nil {
			cells = append(cells, note(r))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
}
