package coordinator

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/rcc-games/rcc/pkg/store"
)

// The pages of a list (docs/operations.md, "Input limits").
const (
	// DefaultPageSize is a list page's length when the caller sets none.
	DefaultPageSize = 100
	// MaxPageSize is the longest page a caller may ask for.
	MaxPageSize = 1000
	// MaxPageBytes bounds a page's instances, encoded: a page stops
	// before it would pass it (it holds at least one), so that a page
	// stays under gRPC's default 4 MiB receive limit.
	MaxPageBytes = 3 << 20
)

// pageSize is the length of a page asked for with size and the older
// limit (the smaller of the two that are set).
func pageSize(size, limit uint32) (int, error) {
	if size > MaxPageSize {
		return 0, invalid("page_size %d is above the maximum of %d", size, MaxPageSize)
	}
	n := int(size)
	if n == 0 {
		n = DefaultPageSize
	}
	if limit > 0 && int(limit) < n {
		n = int(limit)
	}
	return n, nil
}

// pageTokenPrefix versions the page token's format.
const pageTokenPrefix = "i1:"

// encodePageToken makes the opaque token of the page after c.
func encodePageToken(c store.InstanceCursor) string {
	raw := pageTokenPrefix + strconv.FormatInt(c.CreatedAt.UnixMilli(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodePageToken reads a token of encodePageToken; nil for "".
func decodePageToken(tok string) (*store.InstanceCursor, error) {
	if tok == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	rest, ok := strings.CutPrefix(string(raw), pageTokenPrefix)
	msText, id, found := strings.Cut(rest, ":")
	ms, perr := strconv.ParseInt(msText, 10, 64)
	if err != nil || !ok || !found || perr != nil || id == "" || len(tok) > 256 {
		return nil, invalid("page_token is not a next_page_token of this list")
	}
	return &store.InstanceCursor{CreatedAt: time.UnixMilli(ms), ID: id}, nil
}
