package syscalls

import (
	"tlmon/model"

	"golang.org/x/sys/unix"
)

// ArgType says what a syscall argument is, so that the kernel knows what to copy
// from user memory (Table.Capture) and FormatCall how to print it.
type ArgType uint8

const (
	ArgIgnore        ArgType = iota // not shown (a placeholder that keeps later indexes right)
	ArgInt                          // C int: signed decimal of the low 32 bits
	ArgLong                         // long, off_t: signed decimal
	ArgUint                         // unsigned int: decimal of the low 32 bits
	ArgSize                         // size_t: unsigned decimal
	ArgHex                          // hex, 0 as 0
	ArgPtr                          // a pointer not followed: hex, 0 as NULL
	ArgFd                           // a file descriptor
	ArgDirFd                        // a directory descriptor: AT_FDCWD or a number
	ArgPath                         // a NUL-terminated string in user memory (model.Capture.Str)
	ArgOpenFlags                    // O_RDONLY|O_CLOEXEC
	ArgOpenMode                     // open's mode: octal, shown only with O_CREAT or O_TMPFILE
	ArgFileFlags                    // O_* flags without an access mode (pipe2, dup3); 0 is 0
	ArgMode                         // permission bits: octal 0644
	ArgAtFlags                      // AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|AT_EMPTY_PATH...
	ArgAccessAtFlags                // faccessat2's flags, where 0x200 is AT_EACCESS
	ArgAccessMode                   // F_OK or R_OK|W_OK|X_OK
	ArgRenameFlags                  // RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT
	ArgOpenHow                      // struct open_how, copied whole (model.Capture.Blob)
	ArgSockaddr                     // struct sockaddr, its length in the ArgSockLen argument
	ArgSockaddrOut                  // struct sockaddr filled by the call, its length behind ArgSockLenPtr
	ArgSockLen                      // socklen_t
	ArgSockLenPtr                   // socklen_t *: shown as [len] when the address was read
	ArgSocketDomain                 // AF_INET
	ArgSocketType                   // SOCK_STREAM|SOCK_CLOEXEC
	ArgSockFlags                    // SOCK_CLOEXEC|SOCK_NONBLOCK (accept4)
	ArgMsgFlags                     // MSG_DONTWAIT|MSG_NOSIGNAL
	ArgShutdownHow                  // SHUT_RD, SHUT_WR, SHUT_RDWR
	ArgSignal                       // SIGUSR1; 0 is 0
	ArgPid                          // a pid or tid (negative for a process group)
	ArgWaitOptions                  // WNOHANG|__WALL
	ArgCloneFlags                   // CLONE_VM|CLONE_FS|SIGCHLD
	ArgProt                         // PROT_READ|PROT_WRITE, PROT_NONE
	ArgMmapFlags                    // MAP_PRIVATE|MAP_ANONYMOUS
	ArgMremapFlags                  // MREMAP_MAYMOVE|MREMAP_FIXED
	ArgMadvice                      // MADV_DONTNEED
	ArgArgv                         // a NULL-terminated array of strings (model.Capture.Argv)
	ArgWhence                       // SEEK_SET, SEEK_CUR, SEEK_END
	ArgFcntlCmd                     // F_GETFL, F_SETFD, ...
	ArgRWFlags                      // RWF_NOWAIT|RWF_HIPRI (preadv2, pwritev2)
	ArgFutexOp                      // FUTEX_WAIT_PRIVATE
	ArgClockID                      // CLOCK_MONOTONIC
	ArgTimerFlags                   // TIMER_ABSTIME
)

// ArgSpec names one argument of a syscall and says what it is.
type ArgSpec struct {
	Name string
	Type ArgType
}

// ArgsOf returns the arguments of a syscall as tlmon shows them, by name, in
// order; an argument index is its position in the slice. Arguments past the
// last one listed are not shown. A known syscall without arguments gives an
// empty slice, an unknown one nil. The slice is the caller's.
func ArgsOf(name string) []ArgSpec {
	specs, ok := argSpecs[name]
	if !ok {
		return nil
	}
	return append([]ArgSpec{}, specs...)
}

// argSpecs is the one table of syscall arguments, by syscall name (names are the
// same in every architecture's table; a syscall an architecture lacks, such as
// open on arm64, simply never comes up there).
var argSpecs = map[string][]ArgSpec{
	// Files.
	"open":       {{"pathname", ArgPath}, {"flags", ArgOpenFlags}, {"mode", ArgOpenMode}},
	"openat":     {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"flags", ArgOpenFlags}, {"mode", ArgOpenMode}},
	"openat2":    {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"how", ArgOpenHow}, {"size", ArgSize}},
	"creat":      {{"pathname", ArgPath}, {"mode", ArgMode}},
	"unlink":     {{"pathname", ArgPath}},
	"unlinkat":   {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"flags", ArgAtFlags}},
	"rename":     {{"oldpath", ArgPath}, {"newpath", ArgPath}},
	"renameat":   {{"olddirfd", ArgDirFd}, {"oldpath", ArgPath}, {"newdirfd", ArgDirFd}, {"newpath", ArgPath}},
	"renameat2":  {{"olddirfd", ArgDirFd}, {"oldpath", ArgPath}, {"newdirfd", ArgDirFd}, {"newpath", ArgPath}, {"flags", ArgRenameFlags}},
	"mkdir":      {{"pathname", ArgPath}, {"mode", ArgMode}},
	"mkdirat":    {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"mode", ArgMode}},
	"rmdir":      {{"pathname", ArgPath}},
	"chmod":      {{"pathname", ArgPath}, {"mode", ArgMode}},
	"fchmod":     {{"fd", ArgFd}, {"mode", ArgMode}},
	"fchmodat":   {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"mode", ArgMode}}, // the kernel's has no flags
	"fchmodat2":  {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"mode", ArgMode}, {"flags", ArgAtFlags}},
	"chown":      {{"pathname", ArgPath}, {"owner", ArgInt}, {"group", ArgInt}}, // int, so -1 reads as "unchanged"
	"fchown":     {{"fd", ArgFd}, {"owner", ArgInt}, {"group", ArgInt}},
	"lchown":     {{"pathname", ArgPath}, {"owner", ArgInt}, {"group", ArgInt}},
	"fchownat":   {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"owner", ArgInt}, {"group", ArgInt}, {"flags", ArgAtFlags}},
	"truncate":   {{"path", ArgPath}, {"length", ArgLong}},
	"ftruncate":  {{"fd", ArgFd}, {"length", ArgLong}},
	"stat":       {{"pathname", ArgPath}, {"statbuf", ArgPtr}},
	"lstat":      {{"pathname", ArgPath}, {"statbuf", ArgPtr}},
	"fstat":      {{"fd", ArgFd}, {"statbuf", ArgPtr}},
	"newfstatat": {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"statbuf", ArgPtr}, {"flags", ArgAtFlags}},
	"statx":      {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"flags", ArgAtFlags}, {"mask", ArgHex}, {"statxbuf", ArgPtr}},
	"access":     {{"pathname", ArgPath}, {"mode", ArgAccessMode}},
	"faccessat":  {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"mode", ArgAccessMode}},
	"faccessat2": {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"mode", ArgAccessMode}, {"flags", ArgAccessAtFlags}},
	"readlink":   {{"pathname", ArgPath}, {"buf", ArgPtr}, {"bufsiz", ArgSize}},
	"readlinkat": {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"buf", ArgPtr}, {"bufsiz", ArgSize}},
	"chdir":      {{"path", ArgPath}},
	"fchdir":     {{"fd", ArgFd}},
	"symlink":    {{"target", ArgPath}, {"linkpath", ArgPath}},
	"symlinkat":  {{"target", ArgPath}, {"newdirfd", ArgDirFd}, {"linkpath", ArgPath}},
	"link":       {{"oldpath", ArgPath}, {"newpath", ArgPath}},
	"linkat":     {{"olddirfd", ArgDirFd}, {"oldpath", ArgPath}, {"newdirfd", ArgDirFd}, {"newpath", ArgPath}, {"flags", ArgAtFlags}},

	// Descriptors.
	"close":    {{"fd", ArgFd}},
	"read":     {{"fd", ArgFd}, {"buf", ArgPtr}, {"count", ArgSize}},
	"write":    {{"fd", ArgFd}, {"buf", ArgPtr}, {"count", ArgSize}},
	"pread64":  {{"fd", ArgFd}, {"buf", ArgPtr}, {"count", ArgSize}, {"offset", ArgLong}},
	"pwrite64": {{"fd", ArgFd}, {"buf", ArgPtr}, {"count", ArgSize}, {"offset", ArgLong}},
	"readv":    {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}},
	"writev":   {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}},
	// On 64-bit the whole offset is in pos_l; pos_h is ignored by the kernel.
	"preadv":   {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}, {"offset", ArgLong}},
	"pwritev":  {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}, {"offset", ArgLong}},
	"preadv2":  {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}, {"offset", ArgLong}, {"pos_h", ArgIgnore}, {"flags", ArgRWFlags}},
	"pwritev2": {{"fd", ArgFd}, {"iov", ArgPtr}, {"iovcnt", ArgInt}, {"offset", ArgLong}, {"pos_h", ArgIgnore}, {"flags", ArgRWFlags}},
	"sendfile": {{"out_fd", ArgFd}, {"in_fd", ArgFd}, {"offset", ArgPtr}, {"count", ArgSize}},
	"pipe":     {{"pipefd", ArgPtr}},
	"pipe2":    {{"pipefd", ArgPtr}, {"flags", ArgFileFlags}},
	"dup":      {{"oldfd", ArgFd}},
	"dup2":     {{"oldfd", ArgFd}, {"newfd", ArgFd}},
	"dup3":     {{"oldfd", ArgFd}, {"newfd", ArgFd}, {"flags", ArgFileFlags}},
	"ioctl":    {{"fd", ArgFd}, {"request", ArgHex}, {"arg", ArgHex}},
	"fcntl":    {{"fd", ArgFd}, {"cmd", ArgFcntlCmd}, {"arg", ArgHex}},
	"lseek":    {{"fd", ArgFd}, {"offset", ArgLong}, {"whence", ArgWhence}},
	"poll":     {{"fds", ArgPtr}, {"nfds", ArgUint}, {"timeout", ArgInt}},
	"ppoll":    {{"fds", ArgPtr}, {"nfds", ArgUint}, {"tmo_p", ArgPtr}, {"sigmask", ArgPtr}},
	// arm64 has only epoll_pwait.
	"epoll_wait":       {{"epfd", ArgFd}, {"events", ArgPtr}, {"maxevents", ArgInt}, {"timeout", ArgInt}},
	"epoll_pwait":      {{"epfd", ArgFd}, {"events", ArgPtr}, {"maxevents", ArgInt}, {"timeout", ArgInt}, {"sigmask", ArgPtr}},
	"epoll_pwait2":     {{"epfd", ArgFd}, {"events", ArgPtr}, {"maxevents", ArgInt}, {"timeout", ArgPtr}, {"sigmask", ArgPtr}},
	"epoll_create":     {{"size", ArgInt}},
	"epoll_create1":    {{"flags", ArgFileFlags}}, // EPOLL_CLOEXEC is O_CLOEXEC
	"epoll_ctl":        {{"epfd", ArgFd}, {"op", ArgInt}, {"fd", ArgFd}, {"event", ArgPtr}},
	"eventfd":          {{"initval", ArgUint}},
	"eventfd2":         {{"initval", ArgUint}, {"flags", ArgFileFlags}}, // EFD_CLOEXEC, EFD_NONBLOCK are O_'s
	"select":           {{"nfds", ArgInt}, {"readfds", ArgPtr}, {"writefds", ArgPtr}, {"exceptfds", ArgPtr}, {"timeout", ArgPtr}},
	"pselect6":         {{"nfds", ArgInt}, {"readfds", ArgPtr}, {"writefds", ArgPtr}, {"exceptfds", ArgPtr}, {"timeout", ArgPtr}, {"sigmask", ArgPtr}},
	"fsync":            {{"fd", ArgFd}},
	"fdatasync":        {{"fd", ArgFd}},
	"flock":            {{"fd", ArgFd}, {"operation", ArgInt}},
	"fallocate":        {{"fd", ArgFd}, {"mode", ArgHex}, {"offset", ArgLong}, {"len", ArgLong}},
	"getdents64":       {{"fd", ArgFd}, {"dirp", ArgPtr}, {"count", ArgSize}},
	"copy_file_range":  {{"fd_in", ArgFd}, {"off_in", ArgPtr}, {"fd_out", ArgFd}, {"off_out", ArgPtr}, {"len", ArgSize}, {"flags", ArgUint}},
	"splice":           {{"fd_in", ArgFd}, {"off_in", ArgPtr}, {"fd_out", ArgFd}, {"off_out", ArgPtr}, {"len", ArgSize}, {"flags", ArgHex}},
	"close_range":      {{"first", ArgUint}, {"last", ArgUint}, {"flags", ArgHex}},
	"timerfd_create":   {{"clockid", ArgClockID}, {"flags", ArgFileFlags}},                                      // TFD_CLOEXEC, TFD_NONBLOCK are O_'s
	"timerfd_settime":  {{"fd", ArgFd}, {"flags", ArgTimerFlags}, {"new_value", ArgPtr}, {"old_value", ArgPtr}}, // TFD_TIMER_ABSTIME is TIMER_ABSTIME
	"timerfd_gettime":  {{"fd", ArgFd}, {"curr_value", ArgPtr}},
	"signalfd4":        {{"fd", ArgFd}, {"mask", ArgPtr}, {"sizemask", ArgSize}, {"flags", ArgFileFlags}},
	"inotify_init1":    {{"flags", ArgFileFlags}},
	"inotify_rm_watch": {{"fd", ArgFd}, {"wd", ArgInt}},

	// Network.
	"socket":   {{"domain", ArgSocketDomain}, {"type", ArgSocketType}, {"protocol", ArgInt}},
	"connect":  {{"sockfd", ArgFd}, {"addr", ArgSockaddr}, {"addrlen", ArgSockLen}},
	"bind":     {{"sockfd", ArgFd}, {"addr", ArgSockaddr}, {"addrlen", ArgSockLen}},
	"listen":   {{"sockfd", ArgFd}, {"backlog", ArgInt}},
	"accept":   {{"sockfd", ArgFd}, {"addr", ArgSockaddrOut}, {"addrlen", ArgSockLenPtr}},
	"accept4":  {{"sockfd", ArgFd}, {"addr", ArgSockaddrOut}, {"addrlen", ArgSockLenPtr}, {"flags", ArgSockFlags}},
	"sendto":   {{"sockfd", ArgFd}, {"buf", ArgPtr}, {"len", ArgSize}, {"flags", ArgMsgFlags}, {"dest_addr", ArgSockaddr}, {"addrlen", ArgSockLen}},
	"recvfrom": {{"sockfd", ArgFd}, {"buf", ArgPtr}, {"len", ArgSize}, {"flags", ArgMsgFlags}, {"src_addr", ArgSockaddrOut}, {"addrlen", ArgSockLenPtr}},
	"sendmsg":  {{"sockfd", ArgFd}, {"msg", ArgPtr}, {"flags", ArgMsgFlags}},
	"recvmsg":  {{"sockfd", ArgFd}, {"msg", ArgPtr}, {"flags", ArgMsgFlags}},
	"shutdown": {{"sockfd", ArgFd}, {"how", ArgShutdownHow}},
	// getsockname and getpeername fill in an address, as accept does.
	"getsockname": {{"sockfd", ArgFd}, {"addr", ArgSockaddrOut}, {"addrlen", ArgSockLenPtr}},
	"getpeername": {{"sockfd", ArgFd}, {"addr", ArgSockaddrOut}, {"addrlen", ArgSockLenPtr}},
	"setsockopt":  {{"sockfd", ArgFd}, {"level", ArgInt}, {"optname", ArgInt}, {"optval", ArgPtr}, {"optlen", ArgUint}},
	"getsockopt":  {{"sockfd", ArgFd}, {"level", ArgInt}, {"optname", ArgInt}, {"optval", ArgPtr}, {"optlen", ArgPtr}},
	"socketpair":  {{"domain", ArgSocketDomain}, {"type", ArgSocketType}, {"protocol", ArgInt}, {"sv", ArgPtr}},
	"sendmmsg":    {{"sockfd", ArgFd}, {"msgvec", ArgPtr}, {"vlen", ArgUint}, {"flags", ArgMsgFlags}},
	"recvmmsg":    {{"sockfd", ArgFd}, {"msgvec", ArgPtr}, {"vlen", ArgUint}, {"flags", ArgMsgFlags}, {"timeout", ArgPtr}},

	// Processes.
	"execve":   {{"pathname", ArgPath}, {"argv", ArgArgv}, {"envp", ArgPtr}},
	"execveat": {{"dirfd", ArgDirFd}, {"pathname", ArgPath}, {"argv", ArgArgv}, {"envp", ArgPtr}, {"flags", ArgAtFlags}},
	"fork":     {},
	"vfork":    {},
	// The last two arguments, child_tid and tls, come in opposite orders on
	// amd64 and arm64; they are left out rather than named wrongly on one.
	"clone":             {{"flags", ArgCloneFlags}, {"stack", ArgPtr}, {"parent_tid", ArgPtr}},
	"clone3":            {{"cl_args", ArgPtr}, {"size", ArgSize}},
	"exit":              {{"status", ArgInt}},
	"exit_group":        {{"status", ArgInt}},
	"wait4":             {{"pid", ArgPid}, {"wstatus", ArgPtr}, {"options", ArgWaitOptions}, {"rusage", ArgPtr}},
	"getpid":            {},
	"getppid":           {},
	"gettid":            {},
	"getuid":            {},
	"geteuid":           {},
	"getgid":            {},
	"getegid":           {},
	"sched_yield":       {},
	"getpgid":           {{"pid", ArgPid}},
	"setpgid":           {{"pid", ArgPid}, {"pgid", ArgPid}},
	"getsid":            {{"pid", ArgPid}},
	"setsid":            {},
	"umask":             {{"mask", ArgMode}},
	"getcwd":            {{"buf", ArgPtr}, {"size", ArgSize}},
	"uname":             {{"buf", ArgPtr}},
	"sysinfo":           {{"info", ArgPtr}},
	"getrandom":         {{"buf", ArgPtr}, {"buflen", ArgSize}, {"flags", ArgHex}},
	"prctl":             {{"option", ArgInt}, {"arg2", ArgHex}, {"arg3", ArgHex}, {"arg4", ArgHex}, {"arg5", ArgHex}},
	"prlimit64":         {{"pid", ArgPid}, {"resource", ArgInt}, {"new_limit", ArgPtr}, {"old_limit", ArgPtr}},
	"getrusage":         {{"who", ArgInt}, {"usage", ArgPtr}},
	"set_tid_address":   {{"tidptr", ArgPtr}},
	"set_robust_list":   {{"head", ArgPtr}, {"len", ArgSize}},
	"rseq":              {{"rseq", ArgPtr}, {"rseq_len", ArgUint}, {"flags", ArgInt}, {"sig", ArgHex}},
	"sched_getaffinity": {{"pid", ArgPid}, {"cpusetsize", ArgSize}, {"mask", ArgPtr}},

	// Signals.
	"kill":            {{"pid", ArgPid}, {"sig", ArgSignal}},
	"tkill":           {{"tid", ArgPid}, {"sig", ArgSignal}},
	"tgkill":          {{"tgid", ArgPid}, {"tid", ArgPid}, {"sig", ArgSignal}},
	"rt_sigqueueinfo": {{"tgid", ArgPid}, {"sig", ArgSignal}, {"info", ArgPtr}},
	"pause":           {},
	"rt_sigaction":    {{"signum", ArgSignal}, {"act", ArgPtr}, {"oldact", ArgPtr}, {"sigsetsize", ArgSize}},
	"rt_sigprocmask":  {{"how", ArgInt}, {"set", ArgPtr}, {"oldset", ArgPtr}, {"sigsetsize", ArgSize}},
	"sigaltstack":     {{"ss", ArgPtr}, {"old_ss", ArgPtr}},

	// Memory.
	"mmap":     {{"addr", ArgPtr}, {"length", ArgSize}, {"prot", ArgProt}, {"flags", ArgMmapFlags}, {"fd", ArgFd}, {"offset", ArgHex}},
	"munmap":   {{"addr", ArgPtr}, {"length", ArgSize}},
	"mprotect": {{"addr", ArgPtr}, {"len", ArgSize}, {"prot", ArgProt}},
	"brk":      {{"addr", ArgPtr}},
	"mremap":   {{"old_address", ArgPtr}, {"old_size", ArgSize}, {"new_size", ArgSize}, {"flags", ArgMremapFlags}, {"new_address", ArgPtr}},
	"madvise":  {{"addr", ArgPtr}, {"length", ArgSize}, {"advice", ArgMadvice}},

	// Time.
	"nanosleep":       {{"req", ArgPtr}, {"rem", ArgPtr}},
	"clock_nanosleep": {{"clockid", ArgClockID}, {"flags", ArgTimerFlags}, {"request", ArgPtr}, {"remain", ArgPtr}},
	"clock_gettime":   {{"clockid", ArgClockID}, {"tp", ArgPtr}},
	"clock_getres":    {{"clockid", ArgClockID}, {"res", ArgPtr}},
	"gettimeofday":    {{"tv", ArgPtr}, {"tz", ArgPtr}},

	// futex's later arguments mean something different for every op.
	"futex": {{"uaddr", ArgPtr}, {"futex_op", ArgFutexOp}, {"val", ArgInt}, {"timeout", ArgPtr}, {"uaddr2", ArgPtr}, {"val3", ArgHex}},
}

// openHowSize is the size of struct open_how the kernel knows (flags, mode,
// resolve: three u64).
const openHowSize = unix.SizeofOpenHow

// Capture derives what the kernel should copy from user memory for syscall nr
// from the types of its arguments (see ArgsOf): the first two ArgPath
// arguments, a struct (sockaddr or open_how), an argv. A syscall ArgsOf does
// not know copies nothing.
func (t *Table) Capture(nr int) model.Capture {
	specs, ok := argSpecs[t.Name(nr)]
	if !ok {
		return model.NoCapture
	}
	c := model.NoCapture
	nstr := 0
	lenArg := int8(-1)
	for i, s := range specs {
		switch s.Type {
		case ArgPath:
			if nstr < len(c.Str) {
				c.Str[nstr] = int8(i)
				nstr++
			}
		case ArgSockaddr:
			c.Blob, c.BlobSize = int8(i), model.CallBlobLen
		case ArgSockaddrOut:
			c.Blob, c.BlobSize, c.BlobAtExit, c.BlobLenPtr = int8(i), model.CallBlobLen, true, true
		case ArgOpenHow:
			c.Blob, c.BlobSize = int8(i), openHowSize
		case ArgSockLen, ArgSockLenPtr:
			lenArg = int8(i)
		case ArgArgv:
			c.Argv = int8(i)
		}
	}
	// A length argument only bounds a sockaddr: open_how has a fixed size.
	if c.Blob >= 0 && specs[c.Blob].Type != ArgOpenHow {
		c.BlobLenArg = lenArg
	}
	return c
}

// IOKind says which byte counter the result of syscall nr adds to.
func (t *Table) IOKind(nr int) model.IOKind {
	switch t.Name(nr) {
	case "read", "pread64", "readv", "preadv", "preadv2":
		return model.IORead
	case "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendfile":
		return model.IOWrite
	case "recvfrom", "recvmsg":
		return model.IORecv
	case "sendto", "sendmsg":
		return model.IOSend
	}
	return model.IONone
}
