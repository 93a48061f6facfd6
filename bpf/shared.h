/* What tlmon.bpf.c (rungs 1 and 2) and legacy.bpf.c (rungs 3 and 4) share:
 * sizes, syscall numbers, counter slots and the layouts of the maps and
 * events Go reads the same way from either object (the maps themselves are in
 * maps.h). Include after vmlinux.h and bpf_helpers.h. */
#ifndef TLMON_SHARED_H
#define TLMON_SHARED_H

#define MAX_SYSCALLS 512 /* model.MaxSyscallNr */
#define HIST_MAX_LOG2 39 /* model.HistMaxLog2 */
#define HIST_BUCKETS (2 * HIST_MAX_LOG2 + 2)
#define COMM_LEN 16
#define FILENAME_LEN 256
#define MAX_ERRNO 4095

/* The numbers of the calls the hooks treat specially, per architecture:
 * bpf2go's -target defines __TARGET_ARCH_x86 (amd64) or __TARGET_ARCH_arm64.
 * IS_FORK_NR(nr): the new task returns 0 from these without entering.
 * syscall_nrs below puts them in each object for bpf/arch_test.go. */
#if defined(__TARGET_ARCH_x86)
/* x86_64: arch/x86/entry/syscalls/syscall_64.tbl */
#define NR_RT_SIGRETURN 15 /* its return value is never an error */
#define NR_CLONE 56
#define NR_FORK 57
#define NR_VFORK 58
#define NR_CLONE3 435
#define NR_EXIT 60 /* these never return */
#define NR_EXIT_GROUP 231
#define NR_EXECVE 59 /* a success may return under another thread id */
#define NR_EXECVEAT 322
#define IS_FORK_NR(nr) ((nr) == NR_CLONE || (nr) == NR_FORK || (nr) == NR_VFORK || (nr) == NR_CLONE3)
#elif defined(__TARGET_ARCH_arm64)
/* arm64: the generic table, include/uapi/asm-generic/unistd.h, which has no
 * fork or vfork (libc forks with clone). */
#define NR_RT_SIGRETURN 139
#define NR_CLONE 220
#define NR_CLONE3 435
#define NR_EXIT 93
#define NR_EXIT_GROUP 94
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define IS_FORK_NR(nr) ((nr) == NR_CLONE || (nr) == NR_CLONE3)
#else
#error "tlmon's BPF objects are built for amd64 and arm64: bpf2go -target amd64 or -target arm64"
#endif

enum scope_mode {
	SCOPE_ALL = 0,
	SCOPE_PIDS = 1,
	SCOPE_CGROUP = 2,
	SCOPE_NONE = 3, /* while Go tries whether the programs attach */
};

/* Counter slots, in the order of model.LossCause, then the others. */
enum counter {
	CNT_LOST_BUFFER = 0,
	CNT_LOST_PROC_MAP_FULL,
	CNT_LOST_ERRNO_MAP_FULL,
	CNT_LOST_HIST_MAP_FULL,
	CNT_LOST_ENTER_MAP_FULL,
	CNT_LOST_SCOPE_MAP_FULL,
	CNT_LOST_LIFECYCLE, /* CNT_LOST_BUFFER is the detail buffer's */
	CNT_EVENTS_ATTEMPTED,
	CNT_RESTARTS,
	CNT_UNPAIRED_IGNORED,
	CNT_DETAIL_ATTEMPTED, /* detail events (calls, TCP) the kernel tried to send */
	CNT_MAX,
};

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_FORK = 2,
	EVENT_EXIT = 3,
	EVENT_SYSCALL = 4,
	EVENT_TCP = 5,
	EVENT_COUNTS = 6,
};

struct counts {
	__u64 calls;
	__u64 errors;
	__u64 lat_sum;
	__u64 lat_count;
};

struct sys_counts {
	struct counts c;
	__u64 hist[HIST_BUCKETS];
};

/* A process is its tgid and its start time: PIDs are reused. */
struct proc_key {
	__u32 tgid;
	__u32 nr;
	__u64 start;
};

struct errno_key {
	__u32 tgid;
	__u16 nr;
	__u16 err;
	__u64 start;
};

struct proc_hist {
	__u32 hist[HIST_BUCKETS];
};

struct enter_rec {
	__u64 ts; /* 0: no syscall in flight; tlmon.bpf.c: ENTER_UNTIMED for a call not timed */
	__u32 nr;
	__u32 pad; /* legacy: 1 for a call only recorded, not counted (a clone);
		    * tlmon.bpf.c: the weight of the call's latency (see sample_weight) */
	union {
		__u64 args[6]; /* only while slow_ns is set; legacy: args[0] holds a clone's flags */
		__u8 seen[48]; /* tlmon.bpf.c, while slow_ns is not set: see sample_weight */
	};
};

struct event {
	__u8 kind;
	__u8 exit_code;
	__u8 exit_signal;
	__u8 core_dumped;
	__u32 tgid;
	__u32 tid;
	__u32 ppid;
	__u64 time;
	__u64 start;
	__u64 parent_start;
	__u64 cgroup_id;
	char comm[COMM_LEN];
	char filename[FILENAME_LEN];
};

/* The numbers above as built into the object, -1 for a call the architecture
 * lacks, in a section no loader reads (neither map nor program): a test reads
 * them from the .o and checks them against model's table of the target
 * (bpf/arch_test.go), without a kernel of that architecture. */
struct syscall_nrs {
	__s32 rt_sigreturn;
	__s32 clone;
	__s32 fork;
	__s32 vfork;
	__s32 clone3;
	__s32 exit;
	__s32 exit_group;
	__s32 execve;
	__s32 execveat;
};

const struct syscall_nrs syscall_nrs SEC(".tlmon.nrs") = {
	.rt_sigreturn = NR_RT_SIGRETURN,
	.clone = NR_CLONE,
#ifdef NR_FORK
	.fork = NR_FORK,
#else
	.fork = -1,
#endif
#ifdef NR_VFORK
	.vfork = NR_VFORK,
#else
	.vfork = -1,
#endif
	.clone3 = NR_CLONE3,
	.exit = NR_EXIT,
	.exit_group = NR_EXIT_GROUP,
	.execve = NR_EXECVE,
	.execveat = NR_EXECVEAT,
};

#endif
