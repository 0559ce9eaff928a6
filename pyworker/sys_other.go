//go:build !linux

package pyworker

import "syscall"

// sysProcAttr puts a worker in its own process group, so a kill reaches
// whatever the user's script started too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// canWaitNoReap is false: without waitid's WNOWAIT the pool cannot wait for
// an exit without reaping, so it does not kill a dead worker's group (its
// pid may be reused); Linux can.
const canWaitNoReap = false

func waitExit(int) {}
