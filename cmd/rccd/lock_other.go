//go:build !unix

package main

import (
	"fmt"
	"os"
)

// dataDirLock is a no-op where flock is missing: nothing refuses a second
// process on the same data dir there.
type dataDirLock struct{}

func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return &dataDirLock{}, nil
}

func (*dataDirLock) release() {}
