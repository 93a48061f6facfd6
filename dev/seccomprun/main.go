//go:build linux

// Command seccomprun runs a command under an OCI seccomp profile, the JSON
// tlmon --seccomp-profile writes, as a container runtime would: it sets
// no_new_privs, installs the filter and execs the command, so the filter is
// in place from the command's first instruction.
//
//	seccomprun PROFILE -- command [args...]
//
// It is a test helper (dev/e2e), not a runtime: it takes the profiles tlmon
// writes (default action SCMP_ACT_ERRNO with EPERM, groups of names allowed,
// no argument conditions) and refuses anything else. The filter is built by
// github.com/elastic/go-seccomp-bpf for the native architecture; a call of
// another ABI (32-bit, x32) fails as the default action says.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nativeArch is the profile's name of the architecture this runs on.
var nativeArch = map[string]specs.Arch{"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64}

func main() {
	if len(os.Args) < 4 || os.Args[2] != "--" {
		fmt.Fprintln(os.Stderr, "usage: seccomprun PROFILE -- command [args...]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[3:]); err != nil {
		fmt.Fprintln(os.Stderr, "seccomprun:", err)
		os.Exit(1)
	}
}

func run(profile string, args []string) error {
	b, err := os.ReadFile(profile)
	if err != nil {
		return err
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("%s: %w", profile, err)
	}
	policy, err := policyOf(p)
	if err != nil {
		return fmt.Errorf("%s: %w", profile, err)
	}
	// Everything the exec needs is made before the filter is in: after it,
	// this thread makes no call but execve (no allocation, no lookup).
	path, err := exec.LookPath(args[0])
	if err != nil {
		return err
	}
	argv0, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return err
	}
	envv, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		return err
	}
	// The filter goes on this thread only (no TSYNC), the one that execs:
	// the runtime's other threads go with the exec and never run filtered.
	runtime.LockOSThread()
	if err := seccomp.LoadFilter(seccomp.Filter{NoNewPrivs: true, Policy: policy}); err != nil {
		return fmt.Errorf("install the filter: %w", err)
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	return fmt.Errorf("exec %s: %w", path, errno)
}

// policyOf is the policy of an OCI profile, if it is one seccomprun can
// enforce exactly.
func policyOf(p specs.LinuxSeccomp) (seccomp.Policy, error) {
	if p.DefaultAction != specs.ActErrno || (p.DefaultErrnoRet != nil && *p.DefaultErrnoRet != uint(unix.EPERM)) {
		return seccomp.Policy{}, errors.New("only a default action of SCMP_ACT_ERRNO with EPERM is supported")
	}
	native, ok := nativeArch[runtime.GOARCH]
	if !ok {
		return seccomp.Policy{}, fmt.Errorf("no seccomp architecture for %s", runtime.GOARCH)
	}
	found := false
	for _, a := range p.Architectures {
		found = found || a == native
	}
	if !found {
		return seccomp.Policy{}, fmt.Errorf("the profile is not for %s", native)
	}
	allow := seccomp.SyscallGroup{Action: seccomp.ActionAllow}
	for _, s := range p.Syscalls {
		if s.Action != specs.ActAllow || len(s.Args) > 0 {
			return seccomp.Policy{}, fmt.Errorf("only SCMP_ACT_ALLOW without args is supported (%v: %s)", s.Names, s.Action)
		}
		allow.Names = append(allow.Names, s.Names...)
	}
	if len(allow.Names) == 0 {
		return seccomp.Policy{}, errors.New("no syscall allowed")
	}
	return seccomp.Policy{DefaultAction: seccomp.ActionErrno, Syscalls: []seccomp.SyscallGroup{allow}}, nil
}
