package collector

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

// procRoot is /proc; tests may point it elsewhere.
var procRoot = "/proc"

// ReadProc reads one process's identity and names from /proc. Processes born
// after tlmon started are named by lifecycle events instead: /proc may have lost
// them by the time anyone looks.
func ReadProc(pid uint32, cg *Cgroups) (model.ProcInfo, error) {
	dir := fmt.Sprintf("%s/%d", procRoot, pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return model.ProcInfo{}, err
	}
	comm, ppid, start, err := model.ParseProcStat(stat)
	if err != nil {
		return model.ProcInfo{}, fmt.Errorf("%s/stat: %w", dir, err)
	}
	info := model.ProcInfo{ID: model.ProcID{PID: pid, Start: start}, Comm: comm, Kernel: IsKernelThread(pid, ppid, stat)}
	if ppid != 0 {
		if pstat, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, ppid)); err == nil {
			if _, _, pstart, err := model.ParseProcStat(pstat); err == nil {
				info.Parent = model.ProcID{PID: ppid, Start: pstart}
			}
		}
	}
	info.Exe, _ = os.Readlink(dir + "/exe")
	if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil {
		info.Cmdline = string(bytes.TrimRight(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}), " "))
	}
	if cg != nil {
		info.CgroupID, info.V1Cgroup = cg.ofProc(pid)
	}
	return info, nil
}

// pfKthread is PF_KTHREAD, the kernel's flag of a kernel thread (include/linux/sched.h).
const pfKthread = 0x00200000

// IsKernelThread tells a kernel thread by its flags (field 9 of stat), or
// failing those by its place: kthreadd (PID 2) and its children. Kernel
// threads make no syscalls, yet /proc/PID/syscall reads "0 0x0 ..." for them,
// as if they were blocked in read.
func IsKernelThread(pid, ppid uint32, stat []byte) bool {
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		// fields[0] is field 3 (state): the flags are fields[6].
		if f := bytes.Fields(stat[i+1:]); len(f) > 6 {
			if flags, err := strconv.ParseUint(string(f[6]), 10, 64); err == nil {
				return flags&pfKthread != 0
			}
		}
	}
	return pid == kthreadd || ppid == kthreadd
}

// kthreadd is the PID of the kernel thread that starts the others.
const kthreadd = 2

// BootTime is when the machine booted, by the clock process start times count
// on (CLOCK_BOOTTIME, which keeps counting through suspend).
func BootTime() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}

// StartTicks reads a process's start time (clock ticks since boot) from /proc.
func StartTicks(pid uint32) (uint64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return 0, err
	}
	_, _, start, err := model.ParseProcStat(stat)
	return start, err
}

// ScanProcs reads every process in /proc.
func ScanProcs(cg *Cgroups) []model.ProcInfo {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var out []model.ProcInfo
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		if info, err := ReadProc(uint32(pid), cg); err == nil {
			out = append(out, info)
		}
	}
	return out
}

// InSyscall reads /proc/PID/task/TID/syscall: the number of the syscall the
// thread is blocked in, its six arguments, then its user stack pointer and
// program counter; or "running" / -1 when it is in none.
func InSyscall(pid, tid uint32) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/syscall", procRoot, pid, tid))
	if err != nil {
		return 0, false
	}
	return parseSyscallFile(b)
}

func parseSyscallFile(b []byte) (int, bool) {
	f := strings.Fields(string(b))
	if len(f) == 0 || f[0][0] < '0' || f[0][0] > '9' {
		return 0, false
	}
	// A kernel thread has no user context: it reads "0 0x0 ... 0x0", syscall 0
	// (read) with a null stack pointer and program counter. A thread that
	// entered a syscall from user space always has both.
	if len(f) >= 9 && f[7] == "0x0" && f[8] == "0x0" {
		return 0, false
	}
	nr, err := strconv.Atoi(f[0])
	return nr, err == nil
}

// KernelThread says whether pid is a kernel thread (see IsKernelThread); a
// process gone meanwhile is not listed anyway.
func KernelThread(pid uint32) bool {
	stat, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return true
	}
	_, ppid, _, err := model.ParseProcStat(stat)
	return err != nil || IsKernelThread(pid, ppid, stat)
}
