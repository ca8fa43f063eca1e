//go:build !unix

package pgtest

import "os/exec"

// runAs is a no-op where the tests cannot run as root.
func runAs(cmd *exec.Cmd, uid, gid uint32) {}

// detach is a no-op off unix.
func detach(cmd *exec.Cmd) {}
