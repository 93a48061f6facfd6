package syscalls

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"
	"tlmon/model"

	"golang.org/x/sys/unix"
)

// FormatCall prints a call in strace notation:
//
//	openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <12µs>
//	connect(3, {AF_INET, 127.0.0.1:8080}, 16) = -1 ECONNREFUSED (Connection refused) <40µs>
//
// Everything from user memory is quoted with Go escapes, so the line holds no
// control character and is safe to print on a terminal. A syscall ArgsOf does
// not know, and a compat (32-bit) call, shows its six registers in hex.
func FormatCall(c *model.CallRecord) string {
	var b strings.Builder
	name := c.Name
	if c.Nr == model.CompatNr {
		name = model.CompatName
	} else if name == "" {
		name = "syscall_" + strconv.Itoa(c.Nr)
	}
	b.WriteString(name)
	b.WriteByte('(')
	specs, known := argSpecs[name]
	if c.Nr == model.CompatNr || !known {
		for i, v := range c.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(hexString(v))
		}
	} else {
		writeArgs(&b, c, specs)
	}
	b.WriteString(") = ")
	b.WriteString(resultString(c, name))
	if c.Flags&model.CallNoDuration == 0 {
		b.WriteString(" <" + DurationString(c.Duration) + ">")
	}
	if c.Flags&model.CallSlow != 0 {
		b.WriteString(" [slow]")
	}
	return b.String()
}

// writeArgs prints the arguments of a call ArgsOf knows. The arguments read
// from memory come from the record in Capture's order; one whose memory was not
// captured (a NULL or unreadable pointer) shows as its pointer.
func writeArgs(b *strings.Builder, c *model.CallRecord, specs []ArgSpec) {
	nstr := 0
	first := true
	for i, s := range specs {
		v := c.Args[i]
		var out string
		switch s.Type {
		case ArgIgnore:
			continue
		case ArgOpenMode:
			if !openNeedsMode(openFlagsOf(c, specs)) {
				continue
			}
			out = ModeString(v)
		case ArgPath:
			out = PtrString(v)
			if nstr < len(c.Strs) {
				trunc := c.Flags&(model.CallStr0Truncated<<nstr) != 0
				unread := c.Flags&(model.CallStr0Unread<<nstr) != 0
				if c.Strs[nstr] != "" || trunc || !unread {
					out = QuoteString(c.Strs[nstr], trunc)
				}
				nstr++
			}
		case ArgArgv:
			out = PtrString(v)
			if len(c.Argv) > 0 || c.Flags&model.CallArgvTruncated != 0 {
				out = argvString(c.Argv, c.Flags&model.CallArgvTruncated != 0)
			}
		case ArgSockaddr, ArgSockaddrOut:
			out = PtrString(v)
			if len(c.Blob) > 0 {
				out = SockaddrString(c.Blob, c.Flags&model.CallBlobTruncated != 0)
			}
		case ArgSockLenPtr:
			// The kernel read the address with the length behind this pointer
			// at exit, so a whole address tells that length.
			out = PtrString(v)
			if len(c.Blob) > 0 && c.Flags&model.CallBlobTruncated == 0 {
				out = "[" + strconv.Itoa(len(c.Blob)) + "]"
			}
		case ArgOpenHow:
			out = PtrString(v)
			if len(c.Blob) > 0 {
				out = OpenHowString(c.Blob)
			}
		default:
			out = FormatArg(s.Type, v)
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(out)
	}
}

// openFlagsOf returns the value of the call's ArgOpenFlags argument.
func openFlagsOf(c *model.CallRecord, specs []ArgSpec) uint64 {
	for i, s := range specs {
		if s.Type == ArgOpenFlags {
			return c.Args[i]
		}
	}
	return 0
}

// openNeedsMode: open's mode is read only when it creates a file; strace leaves
// it out otherwise, and so do we.
func openNeedsMode(flags uint64) bool {
	return flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE
}

// FormatArg prints one argument register as its type says. Types that point to
// memory (ArgPath, ArgArgv, ArgSockaddr, ...) print as the pointer: their
// contents are in the model.CallRecord, which FormatCall reads.
func FormatArg(t ArgType, v uint64) string {
	switch t {
	case ArgInt, ArgFd, ArgPid:
		return strconv.FormatInt(int64(int32(v)), 10)
	case ArgLong:
		return strconv.FormatInt(int64(v), 10)
	case ArgUint, ArgSockLen:
		return strconv.FormatUint(uint64(uint32(v)), 10)
	case ArgSize:
		return strconv.FormatUint(v, 10)
	case ArgHex:
		return hexString(v)
	case ArgDirFd:
		if int32(v) == unix.AT_FDCWD {
			return "AT_FDCWD"
		}
		return strconv.FormatInt(int64(int32(v)), 10)
	case ArgOpenFlags:
		return OpenFlagsString(v)
	case ArgFileFlags:
		return flagsString(v, openFlags, "0")
	case ArgMode, ArgOpenMode:
		return ModeString(v)
	case ArgAtFlags:
		return AtFlagsString(v)
	case ArgAccessAtFlags:
		return flagsString(v, accessAtFlags, "0")
	case ArgAccessMode:
		return AccessModeString(v)
	case ArgRenameFlags:
		return RenameFlagsString(v)
	case ArgSocketDomain:
		return enumString(uint64(uint32(v)), families)
	case ArgSocketType:
		return SocketTypeString(v)
	case ArgSockFlags:
		return flagsString(v, sockFlags, "0")
	case ArgMsgFlags:
		return flagsString(v, msgFlags, "0")
	case ArgShutdownHow:
		return enumString(uint64(uint32(v)), shutdownHows)
	case ArgSignal:
		return SignalArgString(v)
	case ArgWaitOptions:
		return flagsString(uint64(uint32(v)), waitOptions, "0")
	case ArgCloneFlags:
		return CloneFlagsString(v)
	case ArgProt:
		return ProtString(v)
	case ArgMmapFlags:
		return MmapFlagsString(v)
	case ArgMremapFlags:
		return flagsString(v, mremapFlags, "0")
	case ArgMadvice:
		return enumString(uint64(uint32(v)), madvices)
	case ArgWhence:
		return enumString(uint64(uint32(v)), whences)
	case ArgFcntlCmd:
		return enumString(uint64(uint32(v)), fcntlCmds)
	case ArgRWFlags:
		return flagsString(v, rwFlags, "0")
	case ArgFutexOp:
		return FutexOpString(v)
	case ArgClockID:
		if int32(v) < 0 { // a dynamic clock, made from a descriptor
			return strconv.FormatInt(int64(int32(v)), 10)
		}
		return enumString(v, clockIDs)
	case ArgTimerFlags:
		return flagsString(v, timerFlags, "0")
	}
	return PtrString(v)
}

// hexResults are the syscalls that return an address.
var hexResults = map[string]bool{"mmap": true, "brk": true, "mremap": true, "shmat": true}

// restartDescs are strace's words for the restart codes, ERestartSys on.
var restartDescs = [...]string{
	"To be restarted if SA_RESTART is set",
	"To be restarted",
	"To be restarted if no handler",
	"No ioctl command",
	"Interrupted by signal",
}

func resultString(c *model.CallRecord, name string) string {
	if c.Nr != model.CompatNr && (name == "exit" || name == "exit_group") {
		return "?" // they do not return
	}
	if IsRestart(c.Ret) {
		return "? " + RestartName(int(c.Ret)) + " (" + restartDescs[-c.Ret-ERestartSys] + ")"
	}
	if e := c.Errno(); e != 0 {
		s := "-1 " + ErrnoName(e)
		if desc := syscall.Errno(e).Error(); !strings.HasPrefix(desc, "errno ") {
			// Go's descriptions are strerror's, lowercased.
			s += " (" + strings.ToUpper(desc[:1]) + desc[1:] + ")"
		}
		return s
	}
	if c.Nr != model.CompatNr && hexResults[name] {
		return hexString(uint64(c.Ret))
	}
	return strconv.FormatInt(c.Ret, 10)
}

// DurationString prints how long a call took in its own unit with two or three
// significant digits: 850ns, 3.5µs, 12µs, 301ms, 1.2s.
func DurationString(d time.Duration) string {
	if d < time.Microsecond {
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}} {
		if d < u.d {
			continue
		}
		v := float64(d) / float64(u.d)
		if v < 10 {
			return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + u.name
		}
		r := math.Round(v)
		if r >= 1000 && u.d < time.Second { // 999.7µs is 1ms, not 1000µs
			return DurationString(time.Duration(r) * u.d)
		}
		return strconv.FormatFloat(r, 'f', 0, 64) + u.name
	}
	return "" // not reached: d ≥ 1µs matches a unit
}

// QuoteString quotes a string from user memory with Go's escapes: control
// characters, ESC, DEL, C1 controls, bidi overrides and invalid UTF-8 come out
// as \n, \x1b, \u202e, \xff..., so that what a traced program wrote cannot
// drive the terminal tlmon runs in; printable UTF-8 is kept. A truncated
// string gets strace's "..." after the closing quote.
func QuoteString(s string, truncated bool) string {
	q := strconv.Quote(s)
	if truncated {
		q += "..."
	}
	return q
}

// argvString prints an argv array; entries as long as the kernel copies at
// most may have been cut, and a truncated array may have had more entries.
func argvString(argv []string, truncated bool) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range argv {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteString(s, truncated && len(s) >= model.CallArgLen-1))
	}
	if truncated {
		if len(argv) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("...")
	}
	b.WriteByte(']')
	return b.String()
}

// SockaddrString prints a struct sockaddr as copied from user memory:
// {AF_INET, 127.0.0.1:8080}, {AF_INET6, [::1]:443}, {AF_UNIX, "/run/x.sock"},
// {AF_UNIX, @"abstract"}, {AF_UNIX} for an unnamed socket; other families, or
// an address too short for its family, as {AF_NETLINK, ...}, and less than a
// family as {...}. truncated marks a unix path that was cut.
func SockaddrString(b []byte, truncated bool) string {
	if len(b) < 2 {
		return "{...}"
	}
	family := binary.NativeEndian.Uint16(b)
	name := enumString(uint64(family), families)
	s, ok := model.DecodeSockaddr(b)
	switch {
	case !ok:
	case family == model.AFInet || family == model.AFInet6:
		return "{" + name + ", " + s.Addr.String() + "}"
	case family == model.AFUnix && len(b) == 2:
		return "{" + name + "}"
	case family == model.AFUnix && b[2] == 0:
		return "{" + name + ", @" + QuoteString(strings.TrimPrefix(s.Path, "@"), truncated) + "}"
	case family == model.AFUnix:
		return "{" + name + ", " + QuoteString(s.Path, truncated) + "}"
	}
	return "{" + name + ", ...}"
}

// OpenHowString prints a struct open_how as copied from user memory:
// {flags=O_RDONLY|O_CLOEXEC, mode=0, resolve=RESOLVE_NO_SYMLINKS}, or {...}
// when it is short.
func OpenHowString(b []byte) string {
	if len(b) < openHowSize {
		return "{...}"
	}
	flags := binary.NativeEndian.Uint64(b[0:])
	mode := binary.NativeEndian.Uint64(b[8:])
	resolve := binary.NativeEndian.Uint64(b[16:])
	return "{flags=" + OpenFlagsString(flags) + ", mode=" + ModeString(mode) +
		", resolve=" + flagsString(resolve, resolveFlags, "0") + "}"
}

// PtrString prints a pointer: NULL or 0x7ffd1234.
func PtrString(v uint64) string {
	if v == 0 {
		return "NULL"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// hexString prints a number in hex as strace's %#x does: 0 is 0.
func hexString(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// ModeString prints permission bits in octal with a leading 0 and at least
// three digits: 0644, 04755, 000.
func ModeString(v uint64) string {
	s := strconv.FormatUint(v, 8)
	if len(s) < 3 {
		s = strings.Repeat("0", 3-len(s)) + s
	}
	if s[0] != '0' {
		s = "0" + s
	}
	return s
}

// A sym is what a value, or a set of bits, is called.
type sym struct {
	v    uint64
	name string
}

// flagsString names the bits of v after the table, in its order, and prints
// the bits it does not know in hex; zero is what 0 prints as. An entry of
// several bits matches only when all are set, and takes them, so that it must
// come before entries for its parts (O_TMPFILE before O_DIRECTORY).
func flagsString(v uint64, table []sym, zero string) string {
	if v == 0 {
		return zero
	}
	var parts []string
	for _, n := range table {
		if n.v != 0 && v&n.v == n.v {
			parts = append(parts, n.name)
			v &^= n.v
		}
	}
	if v != 0 {
		parts = append(parts, hexString(v))
	}
	return strings.Join(parts, "|")
}

// enumString names v after the table, or prints it in decimal.
func enumString(v uint64, table []sym) string {
	for _, n := range table {
		if n.v == v {
			return n.name
		}
	}
	return strconv.FormatUint(v, 10)
}

// OpenFlagsString prints open's flags: the access mode, then the other flags:
// O_RDONLY, O_WRONLY|O_CREAT|O_TRUNC, O_RDWR|O_EXCL|O_TMPFILE.
func OpenFlagsString(v uint64) string {
	acc := [...]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&unix.O_ACCMODE]
	if rest := flagsString(v&^unix.O_ACCMODE, openFlags, ""); rest != "" {
		return acc + "|" + rest
	}
	return acc
}

// openFlags are open's flags but the access mode. The unix constants are the
// build architecture's: O_DIRECTORY, O_NOFOLLOW, O_DIRECT differ on arm64.
// O_LARGEFILE is left out (unix has it as 0 on 64-bit): it shows in hex.
var openFlags = []sym{
	{unix.O_CREAT, "O_CREAT"},
	{unix.O_EXCL, "O_EXCL"},
	{unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"},
	{unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_SYNC, "O_SYNC"}, // includes O_DSYNC
	{unix.O_DSYNC, "O_DSYNC"},
	{unix.O_ASYNC, "O_ASYNC"},
	{unix.O_DIRECT, "O_DIRECT"},
	{unix.O_TMPFILE, "O_TMPFILE"}, // includes O_DIRECTORY
	{unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"},
}

// AtFlagsString prints the AT_* flags of the *at syscalls:
// AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH, or 0.
func AtFlagsString(v uint64) string { return flagsString(v, atFlags, "0") }

var atFlags = []sym{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	{unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
	{unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
	{unix.AT_RECURSIVE, "AT_RECURSIVE"},
}

// accessAtFlags are faccessat2's: its 0x200 is AT_EACCESS, not AT_REMOVEDIR.
var accessAtFlags = []sym{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_EACCESS, "AT_EACCESS"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

// AccessModeString prints access's mode: F_OK, or R_OK|W_OK|X_OK.
func AccessModeString(v uint64) string {
	return flagsString(v, []sym{{unix.R_OK, "R_OK"}, {unix.W_OK, "W_OK"}, {unix.X_OK, "X_OK"}}, "F_OK")
}

// RenameFlagsString prints renameat2's flags: RENAME_NOREPLACE, or 0.
func RenameFlagsString(v uint64) string {
	return flagsString(v, []sym{
		{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"},
		{unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
		{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
	}, "0")
}

var resolveFlags = []sym{
	{unix.RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"},
	{unix.RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"},
	{unix.RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"},
	{unix.RESOLVE_BENEATH, "RESOLVE_BENEATH"},
	{unix.RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"},
	{0x20, "RESOLVE_CACHED"}, // not in unix yet (linux/openat2.h)
}

// ProtString prints mmap's and mprotect's prot: PROT_READ|PROT_EXEC, or
// PROT_NONE.
func ProtString(v uint64) string {
	return flagsString(v, []sym{
		{unix.PROT_READ, "PROT_READ"},
		{unix.PROT_WRITE, "PROT_WRITE"},
		{unix.PROT_EXEC, "PROT_EXEC"},
		{unix.PROT_GROWSDOWN, "PROT_GROWSDOWN"},
		{unix.PROT_GROWSUP, "PROT_GROWSUP"},
	}, "PROT_NONE")
}

// MmapFlagsString prints mmap's flags: the mapping type, then the other flags:
// MAP_PRIVATE|MAP_ANONYMOUS, MAP_SHARED|MAP_FIXED.
func MmapFlagsString(v uint64) string {
	const mapType = 0x0f // MAP_TYPE: shared, private or shared-validate
	parts := []string{enumString(v&mapType, []sym{
		{unix.MAP_SHARED, "MAP_SHARED"},
		{unix.MAP_PRIVATE, "MAP_PRIVATE"},
		{unix.MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"},
	})}
	if v&mapType == 0 {
		parts = parts[:0]
	}
	if rest := flagsString(v&^mapType, mmapFlags, ""); rest != "" {
		parts = append(parts, rest)
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// mmapFlags leaves out MAP_32BIT (amd64 only) and the MAP_HUGE_* sizes: they
// show in hex.
var mmapFlags = []sym{
	{unix.MAP_FIXED, "MAP_FIXED"},
	{unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"},
	{unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_DENYWRITE, "MAP_DENYWRITE"},
	{unix.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{unix.MAP_LOCKED, "MAP_LOCKED"},
	{unix.MAP_NORESERVE, "MAP_NORESERVE"},
	{unix.MAP_POPULATE, "MAP_POPULATE"},
	{unix.MAP_NONBLOCK, "MAP_NONBLOCK"},
	{unix.MAP_STACK, "MAP_STACK"},
	{unix.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_SYNC, "MAP_SYNC"},
	{unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}

var mremapFlags = []sym{
	{unix.MREMAP_MAYMOVE, "MREMAP_MAYMOVE"},
	{unix.MREMAP_FIXED, "MREMAP_FIXED"},
	{unix.MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"},
}

var madvices = []sym{
	{unix.MADV_NORMAL, "MADV_NORMAL"},
	{unix.MADV_RANDOM, "MADV_RANDOM"},
	{unix.MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
	{unix.MADV_WILLNEED, "MADV_WILLNEED"},
	{unix.MADV_DONTNEED, "MADV_DONTNEED"},
	{unix.MADV_FREE, "MADV_FREE"},
	{unix.MADV_REMOVE, "MADV_REMOVE"},
	{unix.MADV_DONTFORK, "MADV_DONTFORK"},
	{unix.MADV_DOFORK, "MADV_DOFORK"},
	{unix.MADV_MERGEABLE, "MADV_MERGEABLE"},
	{unix.MADV_UNMERGEABLE, "MADV_UNMERGEABLE"},
	{unix.MADV_HUGEPAGE, "MADV_HUGEPAGE"},
	{unix.MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"},
	{unix.MADV_DONTDUMP, "MADV_DONTDUMP"},
	{unix.MADV_DODUMP, "MADV_DODUMP"},
	{unix.MADV_WIPEONFORK, "MADV_WIPEONFORK"},
	{unix.MADV_KEEPONFORK, "MADV_KEEPONFORK"},
	{unix.MADV_COLD, "MADV_COLD"},
	{unix.MADV_PAGEOUT, "MADV_PAGEOUT"},
	{unix.MADV_POPULATE_READ, "MADV_POPULATE_READ"},
	{unix.MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE"},
	{unix.MADV_DONTNEED_LOCKED, "MADV_DONTNEED_LOCKED"},
	{unix.MADV_COLLAPSE, "MADV_COLLAPSE"},
	{unix.MADV_HWPOISON, "MADV_HWPOISON"},
	{unix.MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL"},
	{unix.MADV_GUARD_REMOVE, "MADV_GUARD_REMOVE"},
}

// CloneFlagsString prints clone's flags as strace does: the CLONE_* flags,
// then the exit signal in the low byte: CLONE_VM|CLONE_VFORK|SIGCHLD.
func CloneFlagsString(v uint64) string {
	const csignal = 0xff
	s := flagsString(v&^csignal, cloneFlags, "")
	if sig := v & csignal; sig != 0 {
		if s != "" {
			s += "|"
		}
		s += SignalName(int(sig))
	}
	if s == "" {
		return "0"
	}
	return s
}

// cloneFlags leaves out CLONE_NEWTIME (0x80): clone's low byte is the exit
// signal; only clone3 and unshare take it.
var cloneFlags = []sym{
	{unix.CLONE_VM, "CLONE_VM"},
	{unix.CLONE_FS, "CLONE_FS"},
	{unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"},
	{unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_PTRACE, "CLONE_PTRACE"},
	{unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_PARENT, "CLONE_PARENT"},
	{unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"},
	{unix.CLONE_SETTLS, "CLONE_SETTLS"},
	{unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{unix.CLONE_DETACHED, "CLONE_DETACHED"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"},
	{unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_IO, "CLONE_IO"},
}

// SignalArgString prints a signal argument: SIGUSR1; 0 (kill's "does it
// exist?") as 0, and a number no signal has in decimal.
func SignalArgString(v uint64) string {
	sig := int32(v)
	if sig <= 0 || sig > 64 {
		return strconv.FormatInt(int64(sig), 10)
	}
	return SignalName(int(sig))
}

var waitOptions = []sym{
	{unix.WNOHANG, "WNOHANG"},
	{unix.WUNTRACED, "WUNTRACED"},
	{unix.WCONTINUED, "WCONTINUED"},
	{unix.WNOTHREAD, "__WNOTHREAD"},
	{unix.WALL, "__WALL"},
	{unix.WCLONE, "__WCLONE"},
}

// SocketTypeString prints socket's type: the kind, then its flags:
// SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK.
func SocketTypeString(v uint64) string {
	const kindMask = 0xf // SOCK_TYPE_MASK
	s := enumString(v&kindMask, []sym{
		{unix.SOCK_STREAM, "SOCK_STREAM"},
		{unix.SOCK_DGRAM, "SOCK_DGRAM"},
		{unix.SOCK_RAW, "SOCK_RAW"},
		{unix.SOCK_RDM, "SOCK_RDM"},
		{unix.SOCK_SEQPACKET, "SOCK_SEQPACKET"},
		{unix.SOCK_DCCP, "SOCK_DCCP"},
		{unix.SOCK_PACKET, "SOCK_PACKET"},
	})
	if rest := flagsString(uint64(uint32(v))&^kindMask, sockFlags, ""); rest != "" {
		s += "|" + rest
	}
	return s
}

var sockFlags = []sym{
	{unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"},
	{unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"},
}

var families = []sym{
	{unix.AF_UNSPEC, "AF_UNSPEC"},
	{unix.AF_UNIX, "AF_UNIX"},
	{unix.AF_INET, "AF_INET"},
	{unix.AF_INET6, "AF_INET6"},
	{unix.AF_NETLINK, "AF_NETLINK"},
	{unix.AF_PACKET, "AF_PACKET"},
	{unix.AF_KEY, "AF_KEY"},
	{unix.AF_BRIDGE, "AF_BRIDGE"},
	{unix.AF_RDS, "AF_RDS"},
	{unix.AF_IB, "AF_IB"},
	{unix.AF_MPLS, "AF_MPLS"},
	{unix.AF_CAN, "AF_CAN"},
	{unix.AF_TIPC, "AF_TIPC"},
	{unix.AF_BLUETOOTH, "AF_BLUETOOTH"},
	{unix.AF_ALG, "AF_ALG"},
	{unix.AF_NFC, "AF_NFC"},
	{unix.AF_VSOCK, "AF_VSOCK"},
	{unix.AF_KCM, "AF_KCM"},
	{unix.AF_QIPCRTR, "AF_QIPCRTR"},
	{unix.AF_SMC, "AF_SMC"},
	{unix.AF_XDP, "AF_XDP"},
	{unix.AF_MCTP, "AF_MCTP"},
}

var msgFlags = []sym{
	{unix.MSG_OOB, "MSG_OOB"},
	{unix.MSG_PEEK, "MSG_PEEK"},
	{unix.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{unix.MSG_CTRUNC, "MSG_CTRUNC"},
	{unix.MSG_PROXY, "MSG_PROXY"},
	{unix.MSG_TRUNC, "MSG_TRUNC"},
	{unix.MSG_DONTWAIT, "MSG_DONTWAIT"},
	{unix.MSG_EOR, "MSG_EOR"},
	{unix.MSG_WAITALL, "MSG_WAITALL"},
	{unix.MSG_FIN, "MSG_FIN"},
	{unix.MSG_SYN, "MSG_SYN"},
	{unix.MSG_CONFIRM, "MSG_CONFIRM"},
	{unix.MSG_RST, "MSG_RST"},
	{unix.MSG_ERRQUEUE, "MSG_ERRQUEUE"},
	{unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"},
	{unix.MSG_MORE, "MSG_MORE"},
	{unix.MSG_WAITFORONE, "MSG_WAITFORONE"},
	{unix.MSG_BATCH, "MSG_BATCH"},
	{unix.MSG_ZEROCOPY, "MSG_ZEROCOPY"},
	{unix.MSG_FASTOPEN, "MSG_FASTOPEN"},
	{unix.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}

var shutdownHows = []sym{{unix.SHUT_RD, "SHUT_RD"}, {unix.SHUT_WR, "SHUT_WR"}, {unix.SHUT_RDWR, "SHUT_RDWR"}}

var whences = []sym{
	{unix.SEEK_SET, "SEEK_SET"},
	{unix.SEEK_CUR, "SEEK_CUR"},
	{unix.SEEK_END, "SEEK_END"},
	{unix.SEEK_DATA, "SEEK_DATA"},
	{unix.SEEK_HOLE, "SEEK_HOLE"},
}

var fcntlCmds = []sym{
	{unix.F_DUPFD, "F_DUPFD"},
	{unix.F_GETFD, "F_GETFD"},
	{unix.F_SETFD, "F_SETFD"},
	{unix.F_GETFL, "F_GETFL"},
	{unix.F_SETFL, "F_SETFL"},
	{unix.F_GETLK, "F_GETLK"},
	{unix.F_SETLK, "F_SETLK"},
	{unix.F_SETLKW, "F_SETLKW"},
	{unix.F_SETOWN, "F_SETOWN"},
	{unix.F_GETOWN, "F_GETOWN"},
	{unix.F_SETSIG, "F_SETSIG"},
	{unix.F_GETSIG, "F_GETSIG"},
	{unix.F_SETOWN_EX, "F_SETOWN_EX"},
	{unix.F_GETOWN_EX, "F_GETOWN_EX"},
	{unix.F_OFD_GETLK, "F_OFD_GETLK"},
	{unix.F_OFD_SETLK, "F_OFD_SETLK"},
	{unix.F_OFD_SETLKW, "F_OFD_SETLKW"},
	{unix.F_SETLEASE, "F_SETLEASE"},
	{unix.F_GETLEASE, "F_GETLEASE"},
	{unix.F_NOTIFY, "F_NOTIFY"},
	{unix.F_DUPFD_CLOEXEC, "F_DUPFD_CLOEXEC"},
	{unix.F_SETPIPE_SZ, "F_SETPIPE_SZ"},
	{unix.F_GETPIPE_SZ, "F_GETPIPE_SZ"},
	{unix.F_ADD_SEALS, "F_ADD_SEALS"},
	{unix.F_GET_SEALS, "F_GET_SEALS"},
}

var rwFlags = []sym{
	{unix.RWF_HIPRI, "RWF_HIPRI"},
	{unix.RWF_DSYNC, "RWF_DSYNC"},
	{unix.RWF_SYNC, "RWF_SYNC"},
	{unix.RWF_NOWAIT, "RWF_NOWAIT"},
	{unix.RWF_APPEND, "RWF_APPEND"},
	{unix.RWF_NOAPPEND, "RWF_NOAPPEND"},
	{unix.RWF_ATOMIC, "RWF_ATOMIC"},
	{unix.RWF_DONTCACHE, "RWF_DONTCACHE"},
}

// futexCmds are the futex operations by number (linux/futex.h; unix does not
// have them).
var futexCmds = [...]string{
	"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
	"FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI",
	"FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
	"FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
}

// FutexOpString prints futex's op as strace does: FUTEX_WAIT_PRIVATE,
// FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME; an unknown op in hex.
func FutexOpString(v uint64) string {
	const private, clockRealtime = 128, 256
	cmd := v &^ (private | clockRealtime)
	if cmd >= uint64(len(futexCmds)) {
		return hexString(v)
	}
	s := futexCmds[cmd]
	if v&private != 0 {
		s += "_PRIVATE"
	}
	if v&clockRealtime != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}

var clockIDs = []sym{
	{unix.CLOCK_REALTIME, "CLOCK_REALTIME"},
	{unix.CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
	{unix.CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"},
	{unix.CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"},
	{unix.CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
	{unix.CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
	{unix.CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
	{unix.CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
	{unix.CLOCK_REALTIME_ALARM, "CLOCK_REALTIME_ALARM"},
	{unix.CLOCK_BOOTTIME_ALARM, "CLOCK_BOOTTIME_ALARM"},
	{unix.CLOCK_TAI, "CLOCK_TAI"},
}

var timerFlags = []sym{{unix.TIMER_ABSTIME, "TIMER_ABSTIME"}}
