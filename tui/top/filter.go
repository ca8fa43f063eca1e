package top

import (
	"strings"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// term is one word of a filter: a label key=value, or a substring.
type term struct {
	key, value string // label, when key is set
	sub        string // lowercase substring otherwise
}

// parseFilter splits a filter into terms; a row must match them all.
func parseFilter(s string) []term {
	var ts []term
	for _, w := range strings.Fields(s) {
		if k, v, ok := strings.Cut(w, "="); ok && k != "" {
			ts = append(ts, term{key: k, value: v})
			continue
		}
		ts = append(ts, term{sub: strings.ToLower(w)})
	}
	return ts
}

func containsFold(s, lowerSub string) bool {
	return strings.Contains(strings.ToLower(s), lowerSub)
}

// matchInstance matches an instance's labels, or a substring of its id,
// game, state, executor (id or name), labels or reason.
func matchInstance(c *cellCtx) func(*rccv1.Instance, term) bool {
	return func(in *rccv1.Instance, t term) bool {
		if t.key != "" {
			v, ok := in.Labels[t.key]
			return ok && v == t.value
		}
		for _, s := range []string{in.Id, in.Game, stateWord(in.State), in.ExecutorId, c.names[in.ExecutorId], in.Reason} {
			if containsFold(s, t.sub) {
				return true
			}
		}
		for k, v := range in.Labels {
			if containsFold(k+"="+v, t.sub) {
				return true
			}
		}
		return false
	}
}

// matchExecutor matches an executor's labels, or a substring of its id,
// name, state or version.
func matchExecutor(x *rccv1.Executor, t term) bool {
	if t.key != "" {
		v, ok := x.Labels[t.key]
		return ok && v == t.value
	}
	for _, s := range []string{x.Id, x.Name, executorStateWord(x.State), x.Version} {
		if containsFold(s, t.sub) {
			return true
		}
	}
	return false
}
