package bpf

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysSleep is a sleeping syscall nothing else in the tests makes (Go's
// runtime sleeps in nanosleep): select.
const sysSleep = unix.SYS_SELECT

// sleepInSyscall sleeps ms in sysSleep, as a raw syscall, so the runtime
// starts no thread (a clone) while it blocks.
func sleepInSyscall(ms int) {
	tv := unix.NsecToTimeval(int64(ms) * 1e6)
	unix.RawSyscall6(unix.SYS_SELECT, 0, 0, 0, 0, uintptr(unsafe.Pointer(&tv)), 0)
}

// forkSyscalls are the calls besides clone and clone3 that make a process.
var forkSyscalls = []int{unix.SYS_FORK, unix.SYS_VFORK}
