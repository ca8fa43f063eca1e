package client

import (
	"fmt"
	"strings"
)

// ParseLabels parses key=value pairs, as given to --label flags, into a
// label map (nil for none). A pair without "=" or with an empty key is an
// error naming it.
func ParseLabels(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("label %q: want key=value", p)
		}
		out[k] = v
	}
	return out, nil
}
