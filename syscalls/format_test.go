package syscalls

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
	"tlmon/model"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

func TestFlagDecodersPrintAsStraceDoes(t *testing.T) {
	tests := []struct {
		name string
		f    func(uint64) string
		in   uint64
		want string
	}{
		{"open read-only", OpenFlagsString, unix.O_RDONLY, "O_RDONLY"},
		{"open read-only close-on-exec", OpenFlagsString, unix.O_RDONLY | unix.O_CLOEXEC, "O_RDONLY|O_CLOEXEC"},
		{"open create", OpenFlagsString, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, "O_WRONLY|O_CREAT|O_TRUNC"},
		{"open directory", OpenFlagsString, unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_DIRECTORY, "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC"},
		{"O_TMPFILE takes O_DIRECTORY's bit", OpenFlagsString, unix.O_RDWR | unix.O_EXCL | unix.O_TMPFILE, "O_RDWR|O_EXCL|O_TMPFILE"},
		{"O_SYNC takes O_DSYNC's bit", OpenFlagsString, unix.O_WRONLY | unix.O_SYNC, "O_WRONLY|O_SYNC"},
		{"O_DSYNC alone", OpenFlagsString, unix.O_WRONLY | unix.O_DSYNC, "O_WRONLY|O_DSYNC"},
		{"access mode 3", OpenFlagsString, 3, "O_ACCMODE"},
		{"O_PATH", OpenFlagsString, unix.O_PATH | unix.O_CLOEXEC, "O_RDONLY|O_CLOEXEC|O_PATH"},
		{"unknown open bits in hex", OpenFlagsString, unix.O_RDWR | 0x80000000, "O_RDWR|0x80000000"},

		{"mode", ModeString, 0o644, "0644"},
		{"mode setuid", ModeString, 0o4755, "04755"},
		{"mode 0", ModeString, 0, "000"},
		{"mode 7", ModeString, 0o7, "007"},

		{"at flags 0", AtFlagsString, 0, "0"},
		{"at removedir", AtFlagsString, unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
		{"at nofollow empty path", AtFlagsString, unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH, "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"},
		{"at statx sync", AtFlagsString, unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},

		{"access F_OK", AccessModeString, 0, "F_OK"},
		{"access R_OK", AccessModeString, unix.R_OK, "R_OK"},
		{"access all", AccessModeString, unix.R_OK | unix.W_OK | unix.X_OK, "R_OK|W_OK|X_OK"},

		{"rename 0", RenameFlagsString, 0, "0"},
		{"rename noreplace", RenameFlagsString, unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"},
		{"rename exchange whiteout", RenameFlagsString, unix.RENAME_EXCHANGE | unix.RENAME_WHITEOUT, "RENAME_EXCHANGE|RENAME_WHITEOUT"},

		{"prot none", ProtString, 0, "PROT_NONE"},
		{"prot read write", ProtString, unix.PROT_READ | unix.PROT_WRITE, "PROT_READ|PROT_WRITE"},
		{"prot read exec", ProtString, unix.PROT_READ | unix.PROT_EXEC, "PROT_READ|PROT_EXEC"},

		{"mmap private anonymous", MmapFlagsString, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, "MAP_PRIVATE|MAP_ANONYMOUS"},
		{"mmap shared fixed", MmapFlagsString, unix.MAP_SHARED | unix.MAP_FIXED, "MAP_SHARED|MAP_FIXED"},
		{"mmap stack", MmapFlagsString, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_STACK | unix.MAP_NORESERVE, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK"},
		{"mmap shared validate", MmapFlagsString, unix.MAP_SHARED_VALIDATE | unix.MAP_SYNC, "MAP_SHARED_VALIDATE|MAP_SYNC"},
		{"mmap 0", MmapFlagsString, 0, "0"},
		{"mmap unknown type", MmapFlagsString, 0xf, "15"},

		{"clone fork", CloneFlagsString, unix.CLONE_CHILD_CLEARTID | unix.CLONE_CHILD_SETTID | uint64(unix.SIGCHLD), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"},
		{"clone thread", CloneFlagsString, unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID, "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"},
		{"clone signal only", CloneFlagsString, uint64(unix.SIGCHLD), "SIGCHLD"},
		{"clone 0", CloneFlagsString, 0, "0"},

		{"signal", SignalArgString, uint64(unix.SIGUSR1), "SIGUSR1"},
		{"signal 0", SignalArgString, 0, "0"},
		{"signal out of range", SignalArgString, 99, "99"},

		{"socket type", SocketTypeString, unix.SOCK_STREAM | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK, "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"},
		{"socket dgram", SocketTypeString, unix.SOCK_DGRAM, "SOCK_DGRAM"},

		{"futex wait private", FutexOpString, 128, "FUTEX_WAIT_PRIVATE"},
		{"futex wake", FutexOpString, 1, "FUTEX_WAKE"},
		{"futex wait bitset realtime", FutexOpString, 9 | 128 | 256, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"},
		{"futex unknown", FutexOpString, 99, "0x63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("%#x: got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatArgPrintsRegistersByType(t *testing.T) {
	tests := []struct {
		typ  ArgType
		in   uint64
		want string
	}{
		{ArgInt, 0xffffffff, "-1"},
		{ArgInt, 0xdead_0000_0007, "7"}, // only the low 32 bits are an int
		{ArgLong, 0xffffffffffffffff, "-1"},
		{ArgUint, 0xffffffff, "4294967295"},
		{ArgSize, 4096, "4096"},
		{ArgHex, 0, "0"},
		{ArgHex, 0x1000, "0x1000"},
		{ArgPtr, 0, "NULL"},
		{ArgPtr, 0x7ffd1234, "0x7ffd1234"},
		{ArgFd, 3, "3"},
		{ArgFd, 0xffffffff, "-1"},
		{ArgDirFd, 0xffffffffffffff9c, "AT_FDCWD"},
		{ArgDirFd, 0xffffff9c, "AT_FDCWD"},
		{ArgDirFd, 5, "5"},
		{ArgFileFlags, 0, "0"},
		{ArgFileFlags, unix.O_CLOEXEC | unix.O_NONBLOCK, "O_NONBLOCK|O_CLOEXEC"},
		{ArgAccessAtFlags, unix.AT_EACCESS, "AT_EACCESS"},
		{ArgSocketDomain, unix.AF_INET6, "AF_INET6"},
		{ArgSocketDomain, unix.AF_NETLINK, "AF_NETLINK"},
		{ArgSocketDomain, 250, "250"},
		{ArgSockFlags, unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"},
		{ArgMsgFlags, unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL, "MSG_DONTWAIT|MSG_NOSIGNAL"},
		{ArgMsgFlags, 0, "0"},
		{ArgShutdownHow, unix.SHUT_RDWR, "SHUT_RDWR"},
		{ArgPid, 0xfffffb2e, "-1234"},
		{ArgWaitOptions, unix.WNOHANG | unix.WALL, "WNOHANG|__WALL"},
		{ArgMremapFlags, unix.MREMAP_MAYMOVE, "MREMAP_MAYMOVE"},
		{ArgMadvice, unix.MADV_DONTNEED, "MADV_DONTNEED"},
		{ArgWhence, unix.SEEK_END, "SEEK_END"},
		{ArgFcntlCmd, unix.F_SETFD, "F_SETFD"},
		{ArgFcntlCmd, unix.F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"},
		{ArgRWFlags, unix.RWF_NOWAIT | unix.RWF_HIPRI, "RWF_HIPRI|RWF_NOWAIT"},
		{ArgClockID, unix.CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
		{ArgClockID, 0xfffffffe, "-2"},
		{ArgTimerFlags, unix.TIMER_ABSTIME, "TIMER_ABSTIME"},
		{ArgPath, 0x5600, "0x5600"}, // its string is not in a register
	}
	for _, tt := range tests {
		if got := FormatArg(tt.typ, tt.in); got != tt.want {
			t.Errorf("FormatArg(%d, %#x) = %q, want %q", tt.typ, tt.in, got, tt.want)
		}
	}
}

func TestQuoteStringEscapesEverythingATerminalWouldAct(t *testing.T) {
	tests := []struct {
		in        string
		truncated bool
		want      string
	}{
		{"/etc/hosts", false, `"/etc/hosts"`},
		{"/very/lo", true, `"/very/lo"...`},
		{"", false, `""`},
		{"a\nb\tc\r", false, `"a\nb\tc\r"`},
		{"\x1b[2J", false, `"\x1b[2J"`},
		{"\x1b]52;c;aGk=\x07", false, `"\x1b]52;c;aGk=\a"`},
		{"\x7f\x00", false, `"\x7f\x00"`},
		{"bad\xff\xfe", false, `"bad\xff\xfe"`},
		{"\u009b2J", false, `"\u009b2J"`},           // C1 CSI
		{"evil\u202etxt", false, `"evil\u202etxt"`}, // bidi override
		{`q"uo\te`, false, `"q\"uo\\te"`},
		{"café/日本", false, `"café/日本"`},
	}
	for _, tt := range tests {
		if got := QuoteString(tt.in, tt.truncated); got != tt.want {
			t.Errorf("QuoteString(%q, %v) = %s, want %s", tt.in, tt.truncated, got, tt.want)
		}
	}
}

func TestDurationStringRoundsToTheNaturalUnit(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0ns"},
		{850 * time.Nanosecond, "850ns"},
		{3 * time.Microsecond, "3µs"},
		{3456 * time.Nanosecond, "3.5µs"},
		{12345 * time.Nanosecond, "12µs"},
		{999700 * time.Nanosecond, "1ms"},
		{301400 * time.Microsecond, "301ms"},
		{1234 * time.Millisecond, "1.2s"},
		{125300 * time.Millisecond, "125s"},
	}
	for _, tt := range tests {
		if got := DurationString(tt.in); got != tt.want {
			t.Errorf("DurationString(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Sockaddrs as a program hands them to the kernel.
func inet4(a, b, c, d byte, port uint16) []byte {
	s := make([]byte, 16)
	binary.NativeEndian.PutUint16(s, model.AFInet)
	binary.BigEndian.PutUint16(s[2:], port)
	copy(s[4:], []byte{a, b, c, d})
	return s
}

func inet6Loopback(port uint16) []byte {
	s := make([]byte, 28)
	binary.NativeEndian.PutUint16(s, model.AFInet6)
	binary.BigEndian.PutUint16(s[2:], port)
	s[23] = 1
	return s
}

func unixAddr(path string) []byte {
	s := make([]byte, 2, 2+len(path)+1)
	binary.NativeEndian.PutUint16(s, model.AFUnix)
	return append(append(s, path...), 0)
}

func family(f uint16, rest ...byte) []byte {
	s := binary.NativeEndian.AppendUint16(nil, f)
	return append(s, rest...)
}

func TestSockaddrStringDecodesTheFamiliesItKnows(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		truncated bool
		want      string
	}{
		{"inet", inet4(127, 0, 0, 1, 8080), false, "{AF_INET, 127.0.0.1:8080}"},
		{"inet6", inet6Loopback(443), false, "{AF_INET6, [::1]:443}"},
		{"unix path", unixAddr("/run/x.sock"), false, `{AF_UNIX, "/run/x.sock"}`},
		{"unix path cut", unixAddr("/run/x.so")[:11], true, `{AF_UNIX, "/run/x.so"...}`},
		{"unix abstract", family(model.AFUnix, append([]byte{0}, "name"...)...), false, `{AF_UNIX, @"name"}`},
		{"unix unnamed", family(model.AFUnix), false, "{AF_UNIX}"},
		{"unix hostile path", unixAddr("/tmp/\x1b[2J"), false, `{AF_UNIX, "/tmp/\x1b[2J"}`},
		{"inet too short", inet4(127, 0, 0, 1, 80)[:6], false, "{AF_INET, ...}"},
		{"other family", family(unix.AF_NETLINK, 0, 0, 1, 2), false, "{AF_NETLINK, ...}"},
		{"unknown family", family(250, 1, 2), false, "{250, ...}"},
		{"less than a family", []byte{2}, false, "{...}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SockaddrString(tt.in, tt.truncated); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func openHow(flags, mode, resolve uint64) []byte {
	b := binary.NativeEndian.AppendUint64(nil, flags)
	b = binary.NativeEndian.AppendUint64(b, mode)
	return binary.NativeEndian.AppendUint64(b, resolve)
}

func TestOpenHowStringDecodesTheStruct(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{openHow(unix.O_RDONLY|unix.O_CLOEXEC, 0, unix.RESOLVE_NO_SYMLINKS), "{flags=O_RDONLY|O_CLOEXEC, mode=000, resolve=RESOLVE_NO_SYMLINKS}"},
		{openHow(unix.O_WRONLY|unix.O_CREAT, 0o600, 0), "{flags=O_WRONLY|O_CREAT, mode=0600, resolve=0}"},
		{openHow(0, 0, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_XDEV|0x20), "{flags=O_RDONLY, mode=000, resolve=RESOLVE_NO_XDEV|RESOLVE_BENEATH|RESOLVE_CACHED}"},
		{openHow(0, 0, 0)[:16], "{...}"},
	}
	for _, tt := range tests {
		if got := OpenHowString(tt.in); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

const atFDCWD = 0xffffffffffffff9c // AT_FDCWD (-100) as a register holds it

// call builds the record of an amd64 syscall.
func call(t *testing.T, name string, ret int64, d time.Duration, args ...uint64) model.CallRecord {
	t.Helper()
	c := model.CallRecord{Nr: nrOf(t, mustTable(t, "amd64"), name), Name: name, Ret: ret, Duration: d}
	copy(c.Args[:], args)
	return c
}

func TestFormatCallPrintsStraceNotation(t *testing.T) {
	paths := func(s0, s1 string) func(*model.CallRecord) {
		return func(c *model.CallRecord) { c.Strs = [2]string{s0, s1} }
	}
	us := time.Microsecond
	tests := []struct {
		name string
		c    model.CallRecord
		want string
	}{
		// Files.
		{"openat", with(call(t, "openat", 3, 12*us, atFDCWD, 0x5000, unix.O_RDONLY|unix.O_CLOEXEC), paths("/etc/hosts", "")),
			`openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <12µs>`},
		{"openat failing", with(call(t, "openat", -2, 3*us, atFDCWD, 0x5000, unix.O_RDONLY), paths("/nope", "")),
			`openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory) <3µs>`},
		{"openat creating shows the mode", with(call(t, "openat", 4, 20*us, 5, 0x5000, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644), paths("out.txt", "")),
			`openat(5, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4 <20µs>`},
		{"open with O_TMPFILE shows the mode", with(call(t, "open", 3, us, 0x5000, unix.O_RDWR|unix.O_TMPFILE, 0o600), paths("/tmp", "")),
			`open("/tmp", O_RDWR|O_TMPFILE, 0600) = 3 <1µs>`},
		{"openat2", with(call(t, "openat2", 3, us, atFDCWD, 0x5000, 0x6000, 24), func(c *model.CallRecord) {
			c.Strs[0] = "/etc"
			c.Blob = openHow(unix.O_RDONLY|unix.O_DIRECTORY, 0, unix.RESOLVE_IN_ROOT)
		}), `openat2(AT_FDCWD, "/etc", {flags=O_RDONLY|O_DIRECTORY, mode=000, resolve=RESOLVE_IN_ROOT}, 24) = 3 <1µs>`},
		{"renameat2 with two paths", with(call(t, "renameat2", 0, 9*us, atFDCWD, 0x5000, 3, 0x6000, unix.RENAME_NOREPLACE), paths("a", "b")),
			`renameat2(AT_FDCWD, "a", 3, "b", RENAME_NOREPLACE) = 0 <9µs>`},
		{"unlinkat a directory", with(call(t, "unlinkat", -39, us, atFDCWD, 0x5000, unix.AT_REMOVEDIR), paths("d", "")),
			`unlinkat(AT_FDCWD, "d", AT_REMOVEDIR) = -1 ENOTEMPTY (Directory not empty) <1µs>`},
		{"newfstatat an empty path", call(t, "newfstatat", 0, us, 3, 0x5000, 0x7ffd0000, unix.AT_EMPTY_PATH),
			`newfstatat(3, "", 0x7ffd0000, AT_EMPTY_PATH) = 0 <1µs>`},
		{"an unreadable path", with(call(t, "newfstatat", -14, us, 3, 0x5000, 0x7ffd0000, 0), func(c *model.CallRecord) { c.Flags = model.CallStr0Unread }),
			`newfstatat(3, 0x5000, 0x7ffd0000, 0) = -1 EFAULT (Bad address) <1µs>`},
		{"access", with(call(t, "access", -2, us, 0x5000, unix.R_OK), paths("/etc/ld.so.preload", "")),
			`access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory) <1µs>`},
		{"a NULL path", with(call(t, "chdir", -14, us, 0), func(c *model.CallRecord) { c.Flags = model.CallStr0Unread }),
			`chdir(NULL) = -1 EFAULT (Bad address) <1µs>`},
		{"a truncated path", with(call(t, "stat", 0, us, 0x5000, 0x6000), func(c *model.CallRecord) {
			c.Strs[0] = "/very/lo"
			c.Flags = model.CallStr0Truncated
		}), `stat("/very/lo"..., 0x6000) = 0 <1µs>`},
		{"the second path truncated", with(call(t, "rename", 0, us, 0x5000, 0x6000), func(c *model.CallRecord) {
			c.Strs = [2]string{"a", "/very/lo"}
			c.Flags = model.CallStr1Truncated
		}), `rename("a", "/very/lo"...) = 0 <1µs>`},

		// Descriptors.
		{"read", call(t, "read", 4096, 301*time.Millisecond, 3, 0x7ffd0000, 4096),
			`read(3, 0x7ffd0000, 4096) = 4096 <301ms>`},
		{"pread64", call(t, "pread64", 10, us, 3, 0x7ffd0000, 10, 4096),
			`pread64(3, 0x7ffd0000, 10, 4096) = 10 <1µs>`},
		{"preadv2 skips pos_h", call(t, "preadv2", 5, us, 3, 0x7ffd0000, 2, 0, 0, unix.RWF_NOWAIT),
			`preadv2(3, 0x7ffd0000, 2, 0, RWF_NOWAIT) = 5 <1µs>`},
		{"lseek", call(t, "lseek", 0, us, 3, 0, unix.SEEK_END), `lseek(3, 0, SEEK_END) = 0 <1µs>`},
		{"pipe2", call(t, "pipe2", 0, us, 0x7ffd0000, unix.O_CLOEXEC), `pipe2(0x7ffd0000, O_CLOEXEC) = 0 <1µs>`},
		{"fcntl", call(t, "fcntl", 0, us, 3, unix.F_SETFD, 1), `fcntl(3, F_SETFD, 0x1) = 0 <1µs>`},
		{"close failing", call(t, "close", -9, us, 99), `close(99) = -1 EBADF (Bad file descriptor) <1µs>`},

		// Network.
		{"connect", with(call(t, "connect", 0, 40*us, 3, 0x5000, 16), func(c *model.CallRecord) { c.Blob = inet4(127, 0, 0, 1, 8080) }),
			`connect(3, {AF_INET, 127.0.0.1:8080}, 16) = 0 <40µs>`},
		{"connect refused", with(call(t, "connect", -111, 40*us, 3, 0x5000, 28), func(c *model.CallRecord) { c.Blob = inet6Loopback(443) }),
			`connect(3, {AF_INET6, [::1]:443}, 28) = -1 ECONNREFUSED (Connection refused) <40µs>`},
		{"connect to a unix socket", with(call(t, "connect", 0, us, 3, 0x5000, 14), func(c *model.CallRecord) { c.Blob = unixAddr("/run/x.sock") }),
			`connect(3, {AF_UNIX, "/run/x.sock"}, 14) = 0 <1µs>`},
		{"connect with an unreadable address", call(t, "connect", -14, us, 3, 0xdead, 16),
			`connect(3, 0xdead, 16) = -1 EFAULT (Bad address) <1µs>`},
		{"accept4", with(call(t, "accept4", 5, us, 3, 0x5000, 0x6000, unix.SOCK_CLOEXEC), func(c *model.CallRecord) { c.Blob = inet4(10, 0, 0, 2, 51000) }),
			`accept4(3, {AF_INET, 10.0.0.2:51000}, [16], SOCK_CLOEXEC) = 5 <1µs>`},
		{"accept4 interrupted", call(t, "accept4", -512, 2*time.Second, 3, 0x5000, 0x6000, 0),
			`accept4(3, 0x5000, 0x6000, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set) <2s>`},
		{"accept without an address", call(t, "accept", 5, us, 3, 0, 0),
			`accept(3, NULL, NULL) = 5 <1µs>`},
		{"socket", call(t, "socket", 3, us, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 6),
			`socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 6) = 3 <1µs>`},
		{"sendto", with(call(t, "sendto", 5, us, 3, 0x5000, 5, unix.MSG_NOSIGNAL, 0x6000, 16), func(c *model.CallRecord) { c.Blob = inet4(8, 8, 8, 8, 53) }),
			`sendto(3, 0x5000, 5, MSG_NOSIGNAL, {AF_INET, 8.8.8.8:53}, 16) = 5 <1µs>`},
		{"recvfrom a stream", call(t, "recvfrom", -11, us, 3, 0x5000, 1024, unix.MSG_DONTWAIT, 0, 0),
			`recvfrom(3, 0x5000, 1024, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable) <1µs>`},
		{"shutdown", call(t, "shutdown", 0, us, 3, unix.SHUT_WR), `shutdown(3, SHUT_WR) = 0 <1µs>`},

		// Processes.
		{"execve", with(call(t, "execve", 0, 500*us, 0x5000, 0x6000, 0x7ffd1234), func(c *model.CallRecord) {
			c.Strs[0] = "/bin/sh"
			c.Argv = []string{"/bin/sh", "-c", "exit 7"}
		}), `execve("/bin/sh", ["/bin/sh", "-c", "exit 7"], 0x7ffd1234) = 0 <500µs>`},
		{"execve with argv truncated", with(call(t, "execve", 0, us, 0x5000, 0x6000, 0x7000), func(c *model.CallRecord) {
			c.Strs[0] = "/bin/echo"
			c.Argv = []string{"echo", strings.Repeat("x", model.CallArgLen-1)}
			c.Flags = model.CallArgvTruncated
		}), `execve("/bin/echo", ["echo", "` + strings.Repeat("x", model.CallArgLen-1) + `"..., ...], 0x7000) = 0 <1µs>`},
		{"execve failing", with(call(t, "execve", -2, us, 0x5000, 0x6000, 0x7000), func(c *model.CallRecord) {
			c.Strs[0] = "/nope"
			c.Argv = []string{"nope"}
		}), `execve("/nope", ["nope"], 0x7000) = -1 ENOENT (No such file or directory) <1µs>`},
		{"execveat", with(call(t, "execveat", 0, us, 3, 0x5000, 0x6000, 0x7000, unix.AT_EMPTY_PATH), func(c *model.CallRecord) {
			c.Argv = []string{"prog"}
		}), `execveat(3, "", ["prog"], 0x7000, AT_EMPTY_PATH) = 0 <1µs>`},
		{"clone", call(t, "clone", 4321, 80*us, unix.CLONE_CHILD_CLEARTID|unix.CLONE_CHILD_SETTID|uint64(unix.SIGCHLD), 0, 0),
			`clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL) = 4321 <80µs>`},
		{"fork", call(t, "fork", 4321, 80*us), `fork() = 4321 <80µs>`},
		{"wait4", call(t, "wait4", 4321, 10*time.Millisecond, 0xffffffffffffffff, 0x7ffd0000, 0, 0),
			`wait4(-1, 0x7ffd0000, 0, NULL) = 4321 <10ms>`},
		{"exit_group does not return", with(call(t, "exit_group", 0, 0, 7), func(c *model.CallRecord) { c.Flags = model.CallNoDuration }),
			`exit_group(7) = ?`},
		{"getppid", call(t, "getppid", 1, 400*time.Nanosecond), `getppid() = 1 <400ns>`},

		// Signals.
		{"kill", call(t, "kill", 0, 2*us, 1234, uint64(unix.SIGUSR1)), `kill(1234, SIGUSR1) = 0 <2µs>`},
		{"kill probing", call(t, "kill", -3, 2*us, 99999, 0), `kill(99999, 0) = -1 ESRCH (No such process) <2µs>`},
		{"kill a process group", call(t, "kill", 0, 2*us, 0xfffffb2e, uint64(unix.SIGTERM)), `kill(-1234, SIGTERM) = 0 <2µs>`},
		{"tgkill", call(t, "tgkill", 0, 2*us, 100, 101, uint64(unix.SIGSEGV)), `tgkill(100, 101, SIGSEGV) = 0 <2µs>`},

		// Memory.
		{"mmap", call(t, "mmap", 0x7f1234560000, 3*us, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, 0xffffffffffffffff, 0),
			`mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000 <3µs>`},
		{"mmap a file", call(t, "mmap", 0x7f1234560000, 3*us, 0, 8192, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_DENYWRITE, 3, 0x2000),
			`mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0x2000) = 0x7f1234560000 <3µs>`},
		{"mmap failing", call(t, "mmap", -12, 3*us, 0, 1<<40, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, 0xffffffffffffffff, 0),
			`mmap(NULL, 1099511627776, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory) <3µs>`},
		{"brk", call(t, "brk", 0x55550000, us, 0), `brk(NULL) = 0x55550000 <1µs>`},
		{"mprotect", call(t, "mprotect", 0, us, 0x7f0000, 4096, unix.PROT_NONE), `mprotect(0x7f0000, 4096, PROT_NONE) = 0 <1µs>`},
		{"madvise", call(t, "madvise", 0, us, 0x7f0000, 4096, unix.MADV_DONTNEED), `madvise(0x7f0000, 4096, MADV_DONTNEED) = 0 <1µs>`},

		// Time, futex.
		{"clock_nanosleep interrupted", call(t, "clock_nanosleep", -516, time.Second, unix.CLOCK_MONOTONIC, 0, 0x7ffd0000, 0x7ffd0010),
			`clock_nanosleep(CLOCK_MONOTONIC, 0, 0x7ffd0000, 0x7ffd0010) = ? ERESTART_RESTARTBLOCK (Interrupted by signal) <1s>`},
		{"futex", call(t, "futex", 0, 5*time.Millisecond, 0x7f0010, 128, 2, 0),
			`futex(0x7f0010, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0) = 0 <5ms>`},

		// Calls with six raw arguments before issue 19.
		{"getsockname", call(t, "getsockname", 0, us, 3, 0x7ffd0000, 0x7ffd0100),
			`getsockname(3, 0x7ffd0000, 0x7ffd0100) = 0 <1µs>`},
		{"setsockopt", call(t, "setsockopt", 0, us, 3, 1, 2, 0x7ffd0000, 4),
			`setsockopt(3, 1, 2, 0x7ffd0000, 4) = 0 <1µs>`},
		{"rt_sigaction", call(t, "rt_sigaction", 0, us, 2, 0x7ffd0000, 0, 8),
			`rt_sigaction(SIGINT, 0x7ffd0000, NULL, 8) = 0 <1µs>`},
		{"epoll_ctl", call(t, "epoll_ctl", 0, us, 5, 1, 7, 0x7ffd0000),
			`epoll_ctl(5, 1, 7, 0x7ffd0000) = 0 <1µs>`},
		{"eventfd2", call(t, "eventfd2", 4, us, 0, unix.O_CLOEXEC|unix.O_NONBLOCK),
			`eventfd2(0, O_NONBLOCK|O_CLOEXEC) = 4 <1µs>`},

		// What FormatCall does not decode.
		{"a syscall ArgsOf does not know", call(t, "kexec_load", 0, us, 2, 0x7ffd0000, 0, 8),
			`kexec_load(0x2, 0x7ffd0000, 0, 0x8, 0, 0) = 0 <1µs>`},
		{"a number no table has", model.CallRecord{Nr: 400, Name: "syscall_400", Ret: -38, Duration: us, Args: [6]uint64{1}},
			`syscall_400(0x1, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented) <1µs>`},
		{"a record without a name", model.CallRecord{Nr: 400, Duration: us},
			`syscall_400(0, 0, 0, 0, 0, 0) = 0 <1µs>`},
		{"a compat call", model.CallRecord{Nr: model.CompatNr, Name: model.CompatName, Ret: 3, Duration: us, Args: [6]uint64{0xffffff9c, 0x8000}},
			`compat_32bit(0xffffff9c, 0x8000, 0, 0, 0, 0) = 3 <1µs>`},
		{"a compat call whatever its name", model.CallRecord{Nr: model.CompatNr, Name: "openat", Ret: -2, Duration: us},
			`compat_32bit(0, 0, 0, 0, 0, 0) = -1 ENOENT (No such file or directory) <1µs>`},
		{"an errno without a name", model.CallRecord{Nr: 400, Name: "syscall_400", Ret: -4000, Duration: us},
			`syscall_400(0, 0, 0, 0, 0, 0) = -1 E4000 <1µs>`},

		// Flags.
		{"a slow call", with(call(t, "read", 1, 1500*time.Millisecond, 0, 0x5000, 1), func(c *model.CallRecord) { c.Flags = model.CallSlow }),
			`read(0, 0x5000, 1) = 1 <1.5s> [slow]`},
		{"no duration", with(call(t, "read", 1, 0, 0, 0x5000, 1), func(c *model.CallRecord) { c.Flags = model.CallNoDuration }),
			`read(0, 0x5000, 1) = 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatCall(&tt.c); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// noControl fails when s holds anything a terminal would act on: C0 and C1
// controls, DEL, invalid UTF-8.
func noControl(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("invalid UTF-8 in %q", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Errorf("control character %U in %q", r, s)
		}
	}
}

func TestFormatCallIsInertOnATerminal(t *testing.T) {
	hostile := "/tmp/\x1b[2J\n\x1b]52;c;aGk=\x07\x9b\xff\u009b\x7f"
	clear := with(call(t, "openat", 3, time.Microsecond, atFDCWD, 0x5000, unix.O_RDONLY), func(c *model.CallRecord) {
		c.Strs[0] = hostile
	})
	want := `openat(AT_FDCWD, "/tmp/\x1b[2J\n\x1b]52;c;aGk=\a\x9b\xff\u009b\x7f", O_RDONLY) = 3 <1µs>`
	if got := FormatCall(&clear); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	records := []model.CallRecord{
		clear,
		with(call(t, "renameat2", 0, 0, atFDCWD, 1, atFDCWD, 2, 0), func(c *model.CallRecord) {
			c.Strs = [2]string{hostile, hostile}
			c.Flags = model.CallStr0Truncated | model.CallStr1Truncated
		}),
		with(call(t, "execve", 0, 0, 1, 2, 3), func(c *model.CallRecord) {
			c.Strs[0] = hostile
			c.Argv = []string{hostile, "\r\x1bP+q\x1b\\", ""}
			c.Flags = model.CallArgvTruncated
		}),
		with(call(t, "connect", 0, 0, 3, 1, 110), func(c *model.CallRecord) { c.Blob = unixAddr(hostile) }),
		with(call(t, "bind", 0, 0, 3, 1, 110), func(c *model.CallRecord) {
			c.Blob = family(model.AFUnix, append([]byte{0}, hostile...)...)
		}),
	}
	for _, c := range records {
		got := FormatCall(&c)
		noControl(t, got)
		if strings.Contains(got, "\x1b") || strings.Contains(got, "\u009b") {
			t.Errorf("an escape survived in %q", got)
		}
	}
}

// with applies f to a copy of c.
func with(c model.CallRecord, f func(*model.CallRecord)) model.CallRecord {
	f(&c)
	return c
}

// FormatCall prints what NewCallRecord keeps from an event the kernel filled
// as Capture says.
func TestFormatCallReadsWhatCaptureAskedFor(t *testing.T) {
	tab := mustTable(t, "amd64")
	var e model.Event
	e.Kind = model.EventSyscall
	c := &e.Call
	c.Nr = uint16(nrOf(t, tab, "renameat2"))
	c.Args = [6]uint64{atFDCWD, 0x5000, 3, 0x6000, unix.RENAME_EXCHANGE}
	c.Duration = 7000
	put := func(b []byte) model.Span {
		off := 0
		for _, s := range []model.Span{c.Str[0], c.Str[1], c.Blob, c.Argv} {
			off = max(off, int(s.Off+s.Len))
		}
		copy(c.Data[off:], b)
		return model.Span{Off: uint16(off), Len: uint16(len(b))}
	}
	capt := tab.Capture(int(c.Nr))
	if capt.Str != [2]int8{1, 3} {
		t.Fatalf("Capture(renameat2).Str = %v", capt.Str)
	}
	c.Str[0] = put([]byte("old"))
	c.Str[1] = put([]byte("new"))
	r := NewCallRecord(tab, &e, time.Now())
	want := `renameat2(AT_FDCWD, "old", 3, "new", RENAME_EXCHANGE) = 0 <7µs>`
	if got := FormatCall(&r); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
