package pyworker

import (
	"syscall"
	"unsafe"
)

// sysProcAttr puts a worker in its own process group, so a kill reaches
// whatever the user's script started too, and has the kernel kill the worker
// if the server dies, so no worker outlives it. Pdeathsig follows the OS
// thread that started the worker, not the process: Go ends a thread only
// when a goroutine locked to it exits, and the worker is then replaced like
// any crashed one. (An idle worker also ends by itself when its request pipe
// closes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// canWaitNoReap says waitExit works here.
const canWaitNoReap = true

// waitExit blocks until the process has exited without reaping it
// (waitid(P_PID, pid, WEXITED|WNOWAIT)): while it is an unreaped zombie its
// pid, and so its process group id, cannot be reused, which makes it safe to
// kill the group after the leader died.
func waitExit(pid int) {
	const (
		pPID    = 1
		wExited = 4
		wNoWait = 0x01000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}
