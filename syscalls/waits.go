package syscalls

// waiting are the syscalls that wait by design: for time to pass, for an
// event, a child, a signal, a lock, a peer or input. Their latency says how
// long the caller chose to wait, not how slow the kernel was: a p99 of
// seconds in poll is an idle loop, in openat a stall. read and recv are here
// too: on a pipe, a socket or a terminal they wait for the other end.
var waiting = map[string]bool{
	"poll": true, "ppoll": true, "select": true, "pselect6": true,
	"epoll_wait": true, "epoll_pwait": true, "epoll_pwait2": true,
	"nanosleep": true, "clock_nanosleep": true, "pause": true,
	"futex": true, "futex_wait": true, "futex_waitv": true,
	"wait4": true, "waitid": true,
	"rt_sigsuspend": true, "rt_sigtimedwait": true,
	"accept": true, "accept4": true, "connect": true,
	"read": true, "readv": true, "recvfrom": true, "recvmsg": true, "recvmmsg": true,
	"msgrcv": true, "semop": true, "semtimedop": true, "mq_timedreceive": true,
	"io_getevents": true, "io_pgetevents": true, "io_uring_enter": true,
	"flock": true, "sched_yield": true, "vfork": true,
}

// Waits says whether the syscall named name waits by design (see waiting):
// a slow p99 of such a call is no alarm.
func Waits(name string) bool { return waiting[name] }
