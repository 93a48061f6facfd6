//go:build linux

package main

import "golang.org/x/sys/unix"

// auditArch is the seccomp_data.arch value of this architecture's native calls.
const auditArch = unix.AUDIT_ARCH_X86_64
