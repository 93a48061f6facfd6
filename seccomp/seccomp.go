// Package seccomp turns what a run saw into a seccomp profile: the syscalls
// observed in scope allowed, every other one failing with EPERM. It writes
// the OCI runtime-spec's seccomp object (the JSON Docker, Podman and
// Kubernetes load) or a systemd drop-in (SystemCallFilter=), atomically.
//
// It reads only model values and the syscall tables (imports model and
// syscalls of tlmon's), as the headless reports do.
package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"tlmon/model"
	"tlmon/syscalls"
)

// The formats Write knows.
const (
	FormatOCI     = "oci"
	FormatSystemd = "systemd"
)

// CheckFormat says whether format is one Write knows.
func CheckFormat(format string) error {
	switch format {
	case FormatOCI, FormatSystemd:
		return nil
	}
	return fmt.Errorf("%q: want oci or systemd", format)
}

// runtimeNeeds are allowed whether seen or not. A runtime installs the filter
// before it execs the command (runc, crun, systemd and seccomprun alike), so
// the exec itself must pass, and a process must always be able to end: a
// denied exit_group returns to code that never expected to run. execve is
// seen anyway when tlmon starts the command, but not when it attaches to
// processes already running (--pid, --cgroup). What a runtime does between
// installing the filter and exec differs by runtime and version (runc issue
// 2097 lists no official set); those calls are not added here.
var runtimeNeeds = []string{"execve", "exit", "exit_group"}

// deniedErrnos are the errnos a seccomp filter (or an LSM) answers with: a
// syscall that failed only with these was likely refused, not tried.
var deniedErrnos = []string{"EPERM", "EACCES", "ENOSYS"}

// Observed is what a snapshot says for a profile.
type Observed struct {
	// Names are the syscalls to allow, sorted: every syscall with calls,
	// plus runtimeNeeds.
	Names []string
	// Added are the runtimeNeeds that were not seen, sorted.
	Added []string
	// Compat counts the calls of 32-bit tasks: seen, and in no profile (the
	// compat slot does not say which syscalls they were).
	Compat uint64
	// Unknown are numbers the arch's table does not name ("syscall_N"),
	// left out of the profile: a name is what a profile holds.
	Unknown []string
	// Denied are the syscalls whose every call failed with EPERM, EACCES
	// or ENOSYS: probably refused by a filter already. They are allowed
	// (the program was seen making them, and one that falls back on ENOSYS,
	// as glibc from clone3 to clone, breaks on EPERM); the user may want to
	// drop them.
	Denied []string
}

// Observe reads the syscalls s counted (system-wide: its scope) with the
// names of arch's table ("amd64" or "arm64").
func Observe(s *model.Snapshot, arch string) (Observed, error) {
	t, err := syscalls.TableFor(arch)
	if err != nil {
		return Observed{}, err
	}
	var o Observed
	seen := map[string]bool{}
	for _, st := range s.Syscalls {
		if st.Calls == 0 && st.Errors == 0 {
			continue
		}
		if st.Nr == model.CompatNr {
			o.Compat += st.Calls
			continue
		}
		name := t.Name(st.Nr)
		if _, ok := t.Lookup(name); !ok {
			o.Unknown = append(o.Unknown, name)
			continue
		}
		seen[name] = true
		if onlyDenied(st) {
			o.Denied = append(o.Denied, name)
		}
	}
	for _, name := range runtimeNeeds {
		if _, ok := t.Lookup(name); ok && !seen[name] {
			seen[name] = true
			o.Added = append(o.Added, name)
		}
	}
	for name := range seen {
		o.Names = append(o.Names, name)
	}
	slices.Sort(o.Names)
	slices.Sort(o.Added)
	slices.Sort(o.Unknown)
	slices.Sort(o.Denied)
	return o, nil
}

// onlyDenied says whether every call of st failed with an errno of
// deniedErrnos.
func onlyDenied(st model.SyscallStat) bool {
	if st.Errors == 0 || st.Errors < st.Calls {
		return false
	}
	var denied uint64
	for _, e := range st.Errnos {
		if slices.Contains(deniedErrnos, e.Name) {
			denied += e.Count
		}
	}
	return denied == st.Errors
}

// architectures are the seccomp arches of a Go arch's profile. amd64 lists
// the 32-bit ABIs as Docker's default profile does, so that the runtime's
// filter answers their calls by the same names rather than killing them as
// an unknown arch.
var architectures = map[string][]specs.Arch{
	"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
	"arm64": {specs.ArchAARCH64},
}

// eperm is the errno of every syscall not allowed.
const eperm = 1

// Profile is the OCI seccomp object allowing names on arch: every other
// syscall fails with EPERM.
func Profile(names []string, arch string) (specs.LinuxSeccomp, error) {
	arches, ok := architectures[arch]
	if !ok {
		return specs.LinuxSeccomp{}, fmt.Errorf("no seccomp architecture for %q (have amd64, arm64)", arch)
	}
	if len(names) == 0 {
		return specs.LinuxSeccomp{}, errors.New("no syscalls to allow")
	}
	errno := uint(eperm)
	return specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &errno,
		Architectures:   slices.Clone(arches),
		Syscalls:        []specs.LinuxSyscall{{Names: slices.Clone(names), Action: specs.ActAllow}},
	}, nil
}

// Systemd is a drop-in for a service ([Service] section) allowing names, on
// the native arch only; every other syscall fails with EPERM.
func Systemd(names []string) string {
	var b strings.Builder
	b.WriteString("# Written by tlmon --seccomp-profile: the syscalls seen, allowed; others fail with EPERM.\n")
	b.WriteString("[Service]\n")
	b.WriteString("SystemCallFilter=" + strings.Join(names, " ") + "\n")
	b.WriteString("SystemCallErrorNumber=EPERM\n")
	b.WriteString("SystemCallArchitectures=native\n")
	return b.String()
}

// Notes are the lines said on stderr when the profile is written, for path.
func (o Observed) Notes(path string) []string {
	lines := []string{fmt.Sprintf("seccomp profile %s: %d syscalls allowed", path, len(o.Names))}
	if len(o.Added) > 0 {
		lines[0] += fmt.Sprintf(", with %s not seen but needed to start or end a program", strings.Join(o.Added, ", "))
	}
	if o.Compat > 0 {
		lines = append(lines, fmt.Sprintf("seccomp profile: %d calls of 32-bit tasks were seen and are not in the profile", o.Compat))
	}
	if len(o.Unknown) > 0 {
		lines = append(lines, "seccomp profile: syscall numbers without a name left out: "+strings.Join(o.Unknown, ", "))
	}
	if len(o.Denied) > 0 {
		lines = append(lines, "seccomp profile: allowed, though every call failed with EPERM, EACCES or ENOSYS (denied already?): "+strings.Join(o.Denied, ", "))
	}
	return lines
}
