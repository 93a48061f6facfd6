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
