//go:build linux && !amd64 && !arm64

package main

// auditArch 0 means the seccomp filter has not been written for this
// architecture; seccomp-getppid mode refuses to run.
const auditArch = 0
