//go:build linux

package main

import (
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// idleComm is the name idle-mode children give themselves, built before the
// fork so that the child allocates nothing.
var idleComm = [16]byte{'w', 'l', 'i', 'd', 'l', 'e'}

// childIdle is all an idle-mode child runs (raw calls only, see childExit): it
// names itself, asks to be killed when the forking thread ends, and blocks in
// ppoll with no descriptors and no timeout for good. Its signals are blocked
// (inherited from measuredThread), so only SIGKILL ends it. ppoll rather than
// pause, which arm64 does not have.
//
//go:nosplit
func childIdle(parent uintptr) {
	unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&idleComm[0])), 0)
	unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	// The parent may have died before PDEATHSIG was set, and then no signal
	// will ever come.
	if ppid, _, _ := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); ppid != parent {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 1, 0, 0)
	}
	for {
		unix.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
	}
}

// idleMode keeps N idle processes alive: setup forks N children that block
// in ppoll (childIdle) and waits until every one is blocked. With --wait they
// then stay idle for as long as the caller waits, which is how tlmon's bench
// measures the monitor on a machine with many processes. The measured phase
// sends each child SIGKILL with one kill and reaps it with wait4. If this
// process dies first, its children die with it (PR_SET_PDEATHSIG).
func idleMode(e *env) (result, error) {
	defer measuredThread()() // also the signal mask the children inherit
	parent := uintptr(os.Getpid())
	pids := make([]int, 0, e.n)
	fail := func(err error) (result, error) {
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
		return result{}, err
	}
	for i := 0; i < e.n; i++ {
		pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if errno == 0 && pid == 0 {
			childIdle(parent) // never returns
		}
		if errno != 0 {
			return fail(fmt.Errorf("clone of child %d: %w", i+1, errno))
		}
		pids = append(pids, int(pid))
	}
	for _, pid := range pids {
		if err := awaitBlocked(pid, "ppoll", 10*time.Second, unix.SYS_PPOLL); err != nil {
			return fail(err)
		}
	}

	return killAndReap(e, pids, unix.SIGKILL), nil
}
