package syscalls

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The kernel-internal restart codes, 512 to 516 (include/linux/errno.h). A syscall
// may return one of them when a signal interrupts it; user space never sees them
// (the call is restarted, or fails with EINTR), but a tracepoint at syscall exit
// does.
const (
	ERestartSys          = 512 // ERESTARTSYS
	ERestartNoIntr       = 513 // ERESTARTNOINTR
	ERestartNoHand       = 514 // ERESTARTNOHAND
	ENoIoctlCmd          = 515 // ENOIOCTLCMD
	ERestartRestartBlock = 516 // ERESTART_RESTARTBLOCK
)

var restartNames = [...]string{"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD", "ERESTART_RESTARTBLOCK"}

// ErrnoName returns the symbolic name of an errno, such as "ENOENT" for 2, as
// golang.org/x/sys/unix names it on the host architecture (so 11 is "EAGAIN" and 95
// "ENOTSUP"); the restart codes get their kernel names (see RestartName); any
// other number gives "E<n>". A negative errno, as a syscall returns it, is taken
// as its absolute value.
func ErrnoName(errno int) string {
	if errno < 0 {
		errno = -errno
	}
	if name := unix.ErrnoName(syscall.Errno(errno)); name != "" {
		return name
	}
	if name := RestartName(errno); name != "" {
		return name
	}
	return "E" + strconv.Itoa(errno)
}

// IsRestart reports whether a syscall return value is one of the kernel-internal
// restart codes, -512 to -516: the call will be re-entered or turned into EINTR,
// so its exit is neither an error nor a latency sample.
func IsRestart(ret int64) bool { return ret <= -ERestartSys && ret >= -ERestartRestartBlock }

// RestartName returns the kernel name of a restart code (512 to 516, or their
// negatives): "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD" or
// "ERESTART_RESTARTBLOCK". It returns "" for any other number.
func RestartName(errno int) string {
	if errno < 0 {
		errno = -errno
	}
	if errno < ERestartSys || errno > ERestartRestartBlock {
		return ""
	}
	return restartNames[errno-ERestartSys]
}
