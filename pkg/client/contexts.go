package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// ErrNoContext is returned for a context name the config does not hold.
var ErrNoContext = errors.New("no such context")

// Config is rccctl's file of contexts: named coordinators, each with its
// address and token, and the one in use. It lives beside the credentials
// file (DefaultConfigPath); the credentials rccd dev writes stay the
// coordinator used when no context is chosen.
type Config struct {
	// Current is the context in use; "" means none (the credentials file).
	Current string `json:"current"`
	// Contexts are by name.
	Contexts map[string]Credentials `json:"contexts"`
}

// DefaultConfigPath is config.json beside DefaultCredentialsPath:
// $XDG_CONFIG_HOME/rcc/config.json or ~/.config/rcc/config.json.
func DefaultConfigPath() (string, error) {
	creds, err := DefaultCredentialsPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(creds), "config.json"), nil
}

// contextName is what a context may be called.
var contextName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CheckContextName reports whether name may name a context: letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 63.
func CheckContextName(name string) error {
	if !contextName.MatchString(name) {
		return fmt.Errorf("context name %q: want letters, digits, '.', '_' or '-' (at most 63, starting with a letter or digit)", name)
	}
	return nil
}

// LoadConfig reads the config at path; a missing file is an empty config.
func LoadConfig(path string) (Config, error) {
	cfg := Config{Contexts: map[string]Credentials{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]Credentials{}
	}
	if cfg.Current != "" {
		if _, ok := cfg.Contexts[cfg.Current]; !ok {
			return Config{}, fmt.Errorf("load config %s: current context %q: %w", path, cfg.Current, ErrNoContext)
		}
	}
	return cfg, nil
}

// SaveConfig writes cfg to path with mode 0600 (it holds tokens),
// replacing the file atomically.
func SaveConfig(path string, cfg Config) error {
	type entry struct {
		Addr  string `json:"addr"`
		Token string `json:"token"`
		CA    string `json:"ca,omitempty"`
	}
	out := struct {
		Current  string           `json:"current"`
		Contexts map[string]entry `json:"contexts"`
	}{cfg.Current, map[string]entry{}}
	for name, c := range cfg.Contexts {
		out.Contexts[name] = entry{c.Addr, string(c.Token), c.CA}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := writePrivate(path, append(b, '\n')); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// Names are the config's context names, sorted.
func (c Config) Names() []string {
	names := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Context returns the named context, or an error wrapping ErrNoContext.
func (c Config) Context(name string) (Credentials, error) {
	cr, ok := c.Contexts[name]
	if !ok {
		return Credentials{}, fmt.Errorf("context %q: %w", name, ErrNoContext)
	}
	return cr, nil
}
