package executor

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// versionHandler adds an instance's version to each record of its logger
// when the record is written, not when the logger is made: a hot upgrade
// changes the version under the loggers already handed out (the
// instance's, its sessions').
type versionHandler struct {
	slog.Handler
	version *atomic.Pointer[string]
}

func (h versionHandler) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone() // shares nothing with the caller's record
	r.AddAttrs(slog.String("version", *h.version.Load()))
	return h.Handler.Handle(ctx, r)
}

func (h versionHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return versionHandler{h.Handler.WithAttrs(as), h.version}
}

func (h versionHandler) WithGroup(name string) slog.Handler {
	return versionHandler{h.Handler.WithGroup(name), h.version}
}

// setVersion makes v the version the instance runs, in its spec and its
// log lines; in.hostMu is held.
func (in *instance) setVersion(v string) {
	in.spec.Version = v
	in.logVersion.Store(&v)
}
