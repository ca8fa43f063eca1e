package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Credentials are where a coordinator is and the token to use there. rccd
// dev writes them; rccctl reads them when neither flags nor environment
// name a coordinator.
type Credentials struct {
	Addr  string `json:"addr"`
	Token Token  `json:"token"`
	// CA says how the coordinator is reached: plain TCP when empty, else
	// TLS verified against this PEM CA file, or against the system roots
	// when it is SystemRoots.
	CA string `json:"ca,omitempty"`
}

// DefaultCredentialsPath is $XDG_CONFIG_HOME/rcc/credentials.json, or
// ~/.config/rcc/credentials.json when XDG_CONFIG_HOME is unset.
func DefaultCredentialsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("credentials path: %w", err)
	}
	return filepath.Join(dir, "rcc", "credentials.json"), nil
}

// LoadCredentials reads credentials written by SaveCredentials. A missing
// file is reported with an error wrapping fs.ErrNotExist.
func LoadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("load credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("load credentials %s: %w", path, err)
	}
	if c.Addr == "" && c.Token == "" {
		return Credentials{}, fmt.Errorf("load credentials %s: %w", path, errors.New("no addr and no token"))
	}
	return c, nil
}

// SaveCredentials writes credentials to path with mode 0600 (its directory
// 0700), replacing the file atomically.
func SaveCredentials(path string, c Credentials) error {
	b, err := json.MarshalIndent(struct {
		Addr  string `json:"addr"`
		Token string `json:"token"`
		CA    string `json:"ca,omitempty"`
	}{c.Addr, string(c.Token), c.CA}, "", "  ")
	if err != nil {
		return err
	}
	if err := writePrivate(path, append(b, '\n')); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// writePrivate replaces path atomically with data, readable by its owner
// alone (the directory created 0700).
func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
