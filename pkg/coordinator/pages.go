package coordinator

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

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

// listTokenPrefix versions the token of listPage.
const listTokenPrefix = "l1:"

// listPage cuts the page after token out of items, a whole list in its
// order: at most pageSize of them and at most MaxPageBytes (by size), at
// least one. The token names the last entry of the previous page by key,
// and its position in case that entry has gone since.
func listPage[T any](items []T, key func(T) string, size func(T) int, pageSize int, token string) (page []T, next string, err error) {
	start := 0
	if token != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(token)
		rest, ok := strings.CutPrefix(string(raw), listTokenPrefix)
		posText, last, found := strings.Cut(rest, ":")
		pos, perr := strconv.Atoi(posText)
		if derr != nil || !ok || !found || perr != nil || pos < 0 || len(token) > 512 {
			return nil, "", invalid("page_token is not a next_page_token of this list")
		}
		start = min(pos, len(items)) // where the rest slid to if that entry has gone
		for k, it := range items {
			if key(it) == last {
				start = k + 1
				break
			}
		}
	}
	total := 0
	for k := start; k < len(items); k++ {
		n := size(items[k])
		if len(page) == pageSize || (len(page) > 0 && total+n > MaxPageBytes) {
			raw := listTokenPrefix + strconv.Itoa(k-1) + ":" + key(items[k-1])
			return page, base64.RawURLEncoding.EncodeToString([]byte(raw)), nil
		}
		total += n
		page = append(page, items[k])
	}
	return page, "", nil
}

// protoSize is a message's encoded size.
func protoSize[M proto.Message](m M) int { return proto.Size(m) }
