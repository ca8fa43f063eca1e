package client

import "log/slog"

// Token is a bearer token the coordinator issued (rccd token create): a
// role token for operators and executors. Printing or logging it shows
// REDACTED; use string(t) for the token itself.
type Token string

// String returns "REDACTED".
func (t Token) String() string { return "REDACTED" }

// GoString returns "REDACTED", so %#v does not reveal the token either.
func (t Token) GoString() string { return "REDACTED" }

// LogValue implements [slog.LogValuer]: the token is logged as REDACTED.
func (t Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }
