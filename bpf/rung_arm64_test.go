package bpf

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysSleep is a sleeping syscall nothing else in the tests makes: arm64 has
// no select, so pselect6.
const sysSleep = unix.SYS_PSELECT6

// sleepInSyscall sleeps ms in sysSleep, as a raw syscall, so the runtime
// starts no thread (a clone) while it blocks.
func sleepInSyscall(ms int) {
	ts := unix.NsecToTimespec(int64(ms) * 1e6)
	unix.RawSyscall6(unix.SYS_PSELECT6, 0, 0, 0, 0, uintptr(unsafe.Pointer(&ts)), 0)
}

// forkSyscalls: arm64 has no fork or vfork; clone and clone3 make processes.
var forkSyscalls []int
