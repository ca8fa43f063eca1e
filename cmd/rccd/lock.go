//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dataDirLockFile is the file in a data dir that the rccd using it holds
// locked (flock) for as long as it runs.
const dataDirLockFile = "rccd.lock"

// errDataDirInUse reports that a live process holds a data dir's lock.
var errDataDirInUse = errors.New("data dir in use")

// dataDirLock is a held lock on a data dir.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the data dir's lock for this process, writing its pid
// into the file. A live process holding it makes it fail with an error
// wrapping errDataDirInUse that names that process; a file left by a dead
// process does not count, since the kernel releases a flock with its
// holder.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	path := filepath.Join(dir, dataDirLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = "rccd pid " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w: %s is used by %s (holding %s); stop it or pass another --data-dir",
				errDataDirInUse, dir, holder, path)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// release gives the lock up; the file stays (a later start reuses it).
func (l *dataDirLock) release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
