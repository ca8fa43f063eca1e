package client

import (
	"errors"
	"fmt"
	"io/fs"
)

// DefaultContext names the context that is the credentials file rccd dev
// writes (DefaultCredentialsPath): the coordinator used when no other
// context is chosen.
const DefaultContext = "default"

// ErrNoToken is returned by Resolve when nothing gave a token.
var ErrNoToken = errors.New("no token")

// Selection is what a command line says about the coordinator to talk to:
// its flags, and the environment variables the caller read (libraries do
// not read the environment). Every field may be empty.
type Selection struct {
	// Addr, Token and Context are the --addr, --token and --context flags.
	Addr, Token, Context string
	// EnvAddr, EnvToken and EnvContext are $RCC_ADDR, $RCC_TOKEN and
	// $RCC_CONTEXT.
	EnvAddr, EnvToken, EnvContext string
	// CA and EnvCA are --ca and $RCC_CA (Credentials.CA).
	CA, EnvCA string
}

// SelectionError is a Selection that names something that does not
// exist (a context), or that gives no token: the caller's input is wrong,
// not the files it points at.
type SelectionError struct{ Err error }

// Error returns the message of the wrapped error.
func (e *SelectionError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error (ErrNoToken, ErrNoContext).
func (e *SelectionError) Unwrap() error { return e.Err }

// Resolve picks the coordinator's address, token and CA the way rccctl
// and rcc-view do, each from the first that sets it: --addr, --token and
// --ca,
// --context, RCC_ADDR, RCC_TOKEN and RCC_CA, RCC_CONTEXT or the config's current
// context (DefaultConfigPath), and else the credentials file rccd dev
// writes (the "default" context); the address defaults to DefaultAddr.
// A context that does not exist, or no token at all, is a
// *SelectionError (wrapping ErrNoContext or ErrNoToken).
func Resolve(sel Selection) (Credentials, error) {
	addr, token, ca := sel.Addr, sel.Token, sel.CA
	fill := func(c Credentials) {
		if addr == "" {
			addr = c.Addr
		}
		if token == "" {
			token = string(c.Token)
		}
		if ca == "" {
			ca = c.CA
		}
	}
	if sel.Context != "" {
		c, err := LoadContext(sel.Context, "--context")
		if err != nil {
			return Credentials{}, err
		}
		fill(c)
	}
	fill(Credentials{Addr: sel.EnvAddr, Token: Token(sel.EnvToken), CA: sel.EnvCA})
	if sel.Context == "" && (addr == "" || token == "") {
		name, from := sel.EnvContext, "RCC_CONTEXT"
		if name == "" {
			path, err := DefaultConfigPath()
			if err != nil {
				return Credentials{}, err
			}
			cfg, err := LoadConfig(path)
			if err != nil {
				return Credentials{}, err
			}
			name, from = cfg.Current, "the current context"
		}
		if name == "" {
			name = DefaultContext
		}
		c, err := LoadContext(name, from)
		if err != nil {
			return Credentials{}, err
		}
		fill(c)
	}
	if addr == "" {
		addr = DefaultAddr
	}
	if token == "" {
		return Credentials{}, &SelectionError{Err: ErrNoToken}
	}
	return Credentials{Addr: addr, Token: Token(token), CA: ca}, nil
}

// LoadContext reads the context called name; from says who chose it
// ("--context", "RCC_CONTEXT"), for the error. DefaultContext is the
// credentials file, empty Credentials when it is missing; any other name
// must be in the config, or LoadContext returns a *SelectionError
// wrapping ErrNoContext.
func LoadContext(name, from string) (Credentials, error) {
	if name == DefaultContext {
		path, err := DefaultCredentialsPath()
		if err != nil {
			return Credentials{}, err
		}
		c, err := LoadCredentials(path)
		if errors.Is(err, fs.ErrNotExist) {
			return Credentials{}, nil
		}
		return c, err
	}
	path, err := DefaultConfigPath()
	if err != nil {
		return Credentials{}, err
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return Credentials{}, err
	}
	c, err := cfg.Context(name)
	if errors.Is(err, ErrNoContext) {
		return Credentials{}, &SelectionError{Err: fmt.Errorf("%s: %w (rccctl context ls lists them)", from, err)}
	}
	return c, err
}
