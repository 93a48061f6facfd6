package syscalls

import (
	"testing"
	"tlmon/model"
)

// nrOf finds a syscall's number in a table, failing the test when it lacks it.
func nrOf(t *testing.T, tab *Table, name string) int {
	t.Helper()
	s, ok := tab.Lookup(name)
	if !ok {
		t.Fatalf("%s has no syscall %q", tab.Arch(), name)
	}
	return s.Nr
}

func TestArgsOfListsTheArgumentsInOrder(t *testing.T) {
	tests := []struct {
		name string
		want []ArgSpec
	}{
		{"openat", []ArgSpec{{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"flags", ArgOpenFlags}, {"mode", ArgOpenMode}}},
		{"connect", []ArgSpec{{"sockfd", ArgFd}, {"addr", ArgSockaddr}, {"addrlen", ArgSockLen}}},
		{"kill", []ArgSpec{{"pid", ArgPid}, {"sig", ArgSignal}}},
		{"getppid", []ArgSpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ArgsOf(tt.name)
			if got == nil || len(got) != len(tt.want) {
				t.Fatalf("ArgsOf(%q) = %v, want %v", tt.name, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("ArgsOf(%q)[%d] = %v, want %v", tt.name, i, got[i], tt.want[i])
				}
			}
		})
	}
	if got := ArgsOf("no_such_call"); got != nil {
		t.Errorf("ArgsOf of an unknown syscall = %v, want nil", got)
	}
	ArgsOf("openat")[0].Type = ArgHex
	if ArgsOf("openat")[0].Type != ArgDirFd {
		t.Error("ArgsOf returns the table's own slice")
	}
}

func TestArgsOfCoversTheSyscallsDetailShows(t *testing.T) {
	for _, name := range []string{
		"open", "openat", "openat2", "creat", "close", "read", "write", "pread64", "pwrite64",
		"readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2", "sendfile", "unlink",
		"unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "chmod",
		"fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "truncate",
		"ftruncate", "stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat",
		"faccessat2", "readlink", "readlinkat", "chdir", "symlink", "symlinkat", "link", "linkat",
		"connect", "accept", "accept4", "bind", "listen", "socket", "sendto", "recvfrom",
		"sendmsg", "recvmsg", "shutdown", "execve", "execveat", "fork", "vfork", "clone",
		"clone3", "exit", "exit_group", "wait4", "kill", "tkill", "tgkill", "rt_sigqueueinfo",
		"mmap", "munmap", "mprotect", "brk", "mremap", "madvise", "getppid", "getpid",
		"nanosleep", "clock_nanosleep", "pipe2", "dup", "dup2", "dup3", "ioctl", "fcntl",
		"lseek", "poll", "epoll_wait", "futex",
		// Common calls of servers and runtimes (issue 19: shown with six raw
		// arguments before).
		"getsockname", "getpeername", "setsockopt", "getsockopt", "socketpair", "sendmmsg",
		"recvmmsg", "epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "pipe", "fsync",
		"getdents64", "getrandom", "rt_sigaction", "rt_sigprocmask", "clock_gettime", "prlimit64",
		"set_robust_list", "rseq", "close_range", "timerfd_create", "timerfd_settime",
	} {
		if ArgsOf(name) == nil {
			t.Errorf("ArgsOf(%q) is nil", name)
		}
	}
}

// The table is consistent with what Capture and the kernel can do with it.
func TestArgSpecsAreWellFormed(t *testing.T) {
	amd64, arm64 := mustTable(t, "amd64"), mustTable(t, "arm64")
	for name, specs := range argSpecs {
		_, onAMD64 := amd64.Lookup(name)
		_, onARM64 := arm64.Lookup(name)
		if !onAMD64 && !onARM64 {
			t.Errorf("%s is a syscall of no table", name)
		}
		if len(specs) > 6 {
			t.Errorf("%s has %d arguments", name, len(specs))
		}
		count := map[ArgType]int{}
		for _, s := range specs {
			count[s.Type]++
			if s.Name == "" {
				t.Errorf("%s has an argument without a name", name)
			}
		}
		if count[ArgPath] > 2 {
			t.Errorf("%s has %d paths; the kernel captures two", name, count[ArgPath])
		}
		if blobs := count[ArgSockaddr] + count[ArgSockaddrOut] + count[ArgOpenHow]; blobs > 1 {
			t.Errorf("%s has %d struct arguments; the kernel captures one", name, blobs)
		}
		if count[ArgSockaddr] != count[ArgSockLen] || count[ArgSockaddrOut] != count[ArgSockLenPtr] {
			t.Errorf("%s: a sockaddr without its length, or a length without its sockaddr", name)
		}
		if count[ArgOpenMode] > 0 && count[ArgOpenFlags] == 0 {
			t.Errorf("%s: an open mode without open flags to say whether it is shown", name)
		}
		if count[ArgArgv] > 1 {
			t.Errorf("%s has %d argv arguments", name, count[ArgArgv])
		}
	}
}

func TestCaptureFollowsTheArgumentTypes(t *testing.T) {
	none := model.NoCapture
	tests := []struct {
		name string
		want model.Capture
	}{
		{"openat", model.Capture{Str: [2]int8{1, -1}, Blob: -1, BlobLenArg: -1, Argv: -1}},
		{"renameat2", model.Capture{Str: [2]int8{1, 3}, Blob: -1, BlobLenArg: -1, Argv: -1}},
		{"symlinkat", model.Capture{Str: [2]int8{0, 2}, Blob: -1, BlobLenArg: -1, Argv: -1}},
		{"connect", model.Capture{Str: [2]int8{-1, -1}, Blob: 1, BlobSize: model.CallBlobLen, BlobLenArg: 2, Argv: -1}},
		{"sendto", model.Capture{Str: [2]int8{-1, -1}, Blob: 4, BlobSize: model.CallBlobLen, BlobLenArg: 5, Argv: -1}},
		{"accept4", model.Capture{Str: [2]int8{-1, -1}, Blob: 1, BlobSize: model.CallBlobLen, BlobLenArg: 2, BlobLenPtr: true, BlobAtExit: true, Argv: -1}},
		{"recvfrom", model.Capture{Str: [2]int8{-1, -1}, Blob: 4, BlobSize: model.CallBlobLen, BlobLenArg: 5, BlobLenPtr: true, BlobAtExit: true, Argv: -1}},
		{"execve", model.Capture{Str: [2]int8{0, -1}, Blob: -1, BlobLenArg: -1, Argv: 1}},
		{"execveat", model.Capture{Str: [2]int8{1, -1}, Blob: -1, BlobLenArg: -1, Argv: 2}},
		{"openat2", model.Capture{Str: [2]int8{1, -1}, Blob: 2, BlobSize: 24, BlobLenArg: -1, Argv: -1}},
		{"getppid", none},
		{"read", none},
		{"kexec_load", none}, // known to the table, not to ArgsOf
		{"getsockname", model.Capture{Str: [2]int8{-1, -1}, Blob: 1, BlobSize: model.CallBlobLen, BlobLenArg: 2, BlobLenPtr: true, BlobAtExit: true, Argv: -1}},
	}
	for _, arch := range []string{"amd64", "arm64"} {
		tab := mustTable(t, arch)
		for _, tt := range tests {
			t.Run(arch+"/"+tt.name, func(t *testing.T) {
				if got := tab.Capture(nrOf(t, tab, tt.name)); got != tt.want {
					t.Errorf("Capture = %+v, want %+v", got, tt.want)
				}
			})
		}
	}
	amd64 := mustTable(t, "amd64")
	for _, nr := range []int{400, model.CompatNr, -1, 9999} {
		if got := amd64.Capture(nr); got != model.NoCapture {
			t.Errorf("Capture(%d) = %+v, want model.NoCapture", nr, got)
		}
	}
}

func TestIOKindSaysWhichCounterAResultAddsTo(t *testing.T) {
	tests := []struct {
		names []string
		want  model.IOKind
	}{
		{[]string{"read", "pread64", "readv", "preadv", "preadv2"}, model.IORead},
		{[]string{"write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile"}, model.IOWrite},
		{[]string{"recvfrom", "recvmsg"}, model.IORecv},
		{[]string{"sendto", "sendmsg"}, model.IOSend},
		{[]string{"openat", "recvmmsg", "sendmmsg", "getppid", "splice"}, model.IONone},
	}
	amd64 := mustTable(t, "amd64")
	for _, tt := range tests {
		for _, name := range tt.names {
			if got := amd64.IOKind(nrOf(t, amd64, name)); got != tt.want {
				t.Errorf("IOKind(%s) = %d, want %d", name, got, tt.want)
			}
		}
	}
	if got := amd64.IOKind(model.CompatNr); got != model.IONone {
		t.Errorf("IOKind(model.CompatNr) = %d, want model.IONone", got)
	}
}

func TestCompatNrIsNamedInEveryTable(t *testing.T) {
	for _, tab := range []*Table{mustTable(t, "amd64"), mustTable(t, "arm64"), newTable("mips", nil)} {
		if got := tab.Name(model.CompatNr); got != model.CompatName {
			t.Errorf("%s: Name(model.CompatNr) = %q, want %q", tab.Arch(), got, model.CompatName)
		}
		if got := tab.Classes(model.CompatNr); got != model.ClassOther {
			t.Errorf("%s: Classes(model.CompatNr) = %q, want other", tab.Arch(), got)
		}
		if tab.MaxNr() >= model.CompatNr {
			t.Errorf("%s reaches model.CompatNr", tab.Arch())
		}
	}
}
