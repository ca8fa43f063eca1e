// Package flight runs one piece of work per key for any number of
// concurrent callers: the first caller starts it, the others wait for its
// result instead of doing it again. It is the daemon's insides (the
// executor's compiled-code and blob caches), not public API.
//
// Unlike golang.org/x/sync/singleflight, the work runs on a context of its
// own: a caller whose context ends stops waiting, and the work goes on for
// the others; it is cancelled only when every caller has stopped waiting.
package flight
