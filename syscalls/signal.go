package syscalls

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalName names a signal number: "SIGKILL"; unknown ones "SIG<n>".
func SignalName(sig int) string {
	if n := unix.SignalName(syscall.Signal(sig)); n != "" {
		return n
	}
	return fmt.Sprintf("SIG%d", sig)
}

// ExitString says how a process ended, as a shell would: "exit 3", or
// "killed by SIGTERM" when sig is not 0.
func ExitString(code, sig int) string {
	if sig != 0 {
		return "killed by " + SignalName(sig)
	}
	return fmt.Sprintf("exit %d", code)
}
