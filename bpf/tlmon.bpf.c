//go:build ignore

// tlmon's kernel side. Counting happens here, in per-CPU maps, because streaming
// one record per syscall to user space costs about four times as much (see
// ../shared/DESIGN.md). One ring buffer (or perf buffer) carries lifecycle
// events (exec, fork and exit, so short-lived processes still get a name) and
// the counts of young threads (see struct young_table); another, only for the
// syscalls whose detail the user switched on, one event per call with its
// arguments, plus TCP connections established and closed.
//
// Where a call is counted: at sys_enter. Errors and latency at sys_exit. An exit
// without a matching enter is a syscall denied by seccomp (count it), a fork child
// returning 0 or an exec from a non-leader thread (not a call), or a syscall that
// was already running when we started watching (ignore).

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"
#include "bpf_endian.h"
#include "shared.h"
#include "hist.h"
#include "maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

#define COMPAT_NR (MAX_SYSCALLS - 1) /* model.CompatNr */
#define IPPROTO_TCP 6
#define AF_INET 2
/* include/net/tcp_states.h */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10

/* Detail events (model/detail.go has the same sizes). */
#define CALL_DATA_LEN 1024
#define CALL_STR_LEN 256
#define CALL_BLOB_LEN 128
#define CALL_ARGV_MAX 16
#define CALL_ARG_LEN 128

/* model.CallFlags */
enum call_flags {
	CALL_SLOW = 1 << 0,
	CALL_AT_EXIT = 1 << 1,
	CALL_STR0_TRUNC = 1 << 2,
	CALL_STR1_TRUNC = 1 << 3,
	CALL_BLOB_TRUNC = 1 << 4,
	CALL_ARGV_TRUNC = 1 << 5,
	CALL_NO_DURATION = 1 << 6,
	CALL_STR0_UNREAD = 1 << 7,
	CALL_STR1_UNREAD = 1 << 8,
};

/* model.IOKind */
enum io_kind {
	IO_NONE = 0,
	IO_READ,
	IO_WRITE,
	IO_RECV,
	IO_SEND,
};

/* What to copy from user memory for one syscall: model.Capture, set from Go per
 * syscall number, plus whether its calls are sent in detail and which byte
 * counter its return value adds to. Argument indexes are 0-5, -1 for none. */
struct capture {
	__s8 str[2];
	__s8 blob;
	__s8 blob_len_arg;
	__u16 blob_size;
	__u8 blob_len_ptr;
	__u8 blob_at_exit;
	__s8 argv;
	__u8 detail;
	__u8 io; /* enum io_kind */
	__u8 pad;
};

/* One syscall in detail. Built at entry in the task's call record, finished and
 * sent at exit; only the used part of data is sent. Mirrors model.CallData. */
struct call_event {
	__u8 kind; /* EVENT_SYSCALL; in a call record, 0 when no call is pending */
	__u8 pad0;
	__u16 nr;
	__u16 flags; /* enum call_flags */
	__u16 argc;
	__u32 tgid;
	__u32 tid;
	__u64 start;
	__u64 time;
	__s64 ret;
	__u64 duration;
	__u64 args[6];
	__u16 str_off[2];
	__u16 str_len[2];
	__u16 blob_off;
	__u16 blob_len;
	__u16 argv_off;
	__u16 argv_len;
	__u32 data_len;
	__u32 pad1;
	char data[CALL_DATA_LEN];
};

/* A TCP connection of a watched process established or closed. */
struct tcp_event {
	__u8 kind; /* EVENT_TCP */
	__u8 oldstate;
	__u8 newstate;
	__u8 pad0;
	__u32 tgid;
	__u64 start;
	__u64 time;
	__u16 family;
	__u16 sport; /* host order */
	__u16 dport;
	__u16 pad1;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct io_counts {
	__u64 read;
	__u64 written;
	__u64 received;
	__u64 sent;
};

/* A TCP connection of a watched process: its owner (the process that
 * connected or accepted it) and, once established, its addresses (the source
 * port is gone by the time a closing socket reaches TCP_CLOSE). */
struct tcp_conn {
	__u32 tgid;
	__u32 established;
	__u64 start;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Young threads. A thread of a process born after tlmon started counts its
 * calls in a table of its own (task storage, one allocation per thread) instead
 * of the per-process hashes: under process churn (a shell loop, a build) most
 * processes live milliseconds, and a hash entry per (process, syscall), made on
 * the first call and deleted by Go seconds later, both filled the maps and cost
 * more than the process's own calls. The table goes to Go as one counts event
 * when the thread exits or, once it has lived through a whole read of Go's
 * (read_epoch moved on twice), when Go's next sweep (young_sweep) promotes it:
 * from then on its calls go to the hashes like any long-lived process's. A young
 * thread keeps no latency histogram of its own (its calls are in the
 * system-wide ones): its process's mean latency stays exact, its percentiles
 * are absent.
 *
 * The thread changes its table and the sweep, from another CPU, sends it. They
 * hand it over as in Dekker's algorithm: the thread raises busy, then looks at
 * the state; the sweep sets the state to SWEEPING, then looks at busy. The
 * atomic adds are full barriers on x86 (lock add), so at least one of the two
 * sees the other: a thread that finds the table not COUNTING counts that call
 * in the hashes, a sweep that finds it busy tries again at the next read.
 * Nothing is counted twice or lost. (Compare-and-swap would be simpler, but
 * kernels before 5.12 refuse its instruction anywhere in an object.)
 *
 * On arm64 the adds order nothing: the JIT makes an atomic add whose result is
 * not used a STADD (or an LL/SC loop without a barrier), so the thread's add
 * and its look at the state may pass each other, and so may the sweep's, and
 * each could miss the other. There young threads count in the hashes like any
 * other (young_on() is false, whatever Go sets young_tables to), until the
 * handover uses the fetching adds (5.12+), which are fully ordered there. */
#define YOUNG_SLOTS 64   /* distinct syscalls; more go to the hashes */
#define YOUNG_ERRNOS 16  /* distinct (syscall, errno); more go to errno_stats */

struct young_slot {
	__u32 calls;
	__u32 errors;
	__u64 lat_sum;
	__u32 lat_count;
	__u16 nr;
	__u16 pad;
};

struct young_errno {
	__u16 nr;
	__u16 err;
	__u32 count;
};

/* A young thread's counts since its last counts event: only the used slots are
 * sent. Mirrors model.ThreadCounts. */
struct counts_event {
	__u8 kind; /* EVENT_COUNTS */
	__u8 final; /* the thread exited */
	__u8 nerrs;
	__u8 nslots;
	__u32 tgid;
	__u32 tid;
	__u32 pad;
	__u64 start;
	struct io_counts io;
	struct young_errno err[YOUNG_ERRNOS];
	struct young_slot slot[YOUNG_SLOTS];
};

enum young_state {
	YOUNG_NEW = 0, /* made just now: zeroes */
	YOUNG_COUNTING,
	YOUNG_SWEEPING, /* the sweep is sending it */
	YOUNG_PROMOTED, /* sent: its thread's calls go to the hashes */
};

struct young_table {
	struct counts_event ev;
	__u32 epoch; /* read_epoch when it was made */
	__u32 state; /* enum young_state */
	__u32 busy;  /* its thread is changing it (the sweep's look counts too) */
	__u32 pad;
	__u8 index[MAX_SYSCALLS]; /* 1 + the slot of a syscall, 0 for none */
};

/* Load-time settings (rodata: the verifier prunes what they switch off). */
const volatile __u32 self_tgid = 0;
const volatile bool use_ringbuf = true;
const volatile __u64 wakeup_bytes = 0; /* see ringbuf_wakeup */
const volatile __u64 life_wakeup_bytes = 0;
const volatile bool use_task_storage = true;
const volatile bool track_latency = true;
/* Time hot calls one in SAMPLE_EVERY (see sample_weight), not every one. */
const volatile bool sample_latency = false;
const volatile bool per_proc_hist = true;
/* Count young threads in tables of their own (needs task storage); a process
 * that started before young_since (boot-time ns: tlmon's start) is never young. */
const volatile bool young_tables = false;
const volatile __u64 young_since = 0;
#if defined(__TARGET_ARCH_x86)
#define young_on() young_tables
#else
#define young_on() false /* see struct young_table */
#endif

/* Run-time settings, written by Go while attached. */
volatile __u32 scope_mode = SCOPE_ALL;
/* Set from Go while the command it starts in the scope's cgroup has not exec'd
 * yet: what the launcher does between fork and exec (Go's runtime resetting
 * signal handlers) is tlmon's work, not the command's. Counting starts with
 * the command's execve, as strace -f counts a command it starts. */
volatile __u32 launch_pending = 0;
/* The command's process while its execve returns (see launch_pending). */
volatile __u32 launch_tgid = 0;
/* Go adds one at every read of the counters: a young table made at epoch e is
 * promoted by a sweep from e + 2 on, having lived through one whole read
 * interval (Go adds two before the last sweep, to send them all). */
volatile __u32 read_epoch = 0;
volatile bool follow_children = true;
volatile bool failed_only = false;
/* Boot-time ns of the last scope change: a task older than this that exits a
 * syscall we never saw enter was already inside it when the scope took it in. */
volatile __u64 scope_since = 0;
/* Non-zero: do not count this syscall (the -e filter and class toggles). */
volatile __u8 nr_disabled[MAX_SYSCALLS];
/* The process whose threads are counted one by one (0: none): the monitor's
 * Threads view sets it, so per-thread counting costs nothing the rest of the
 * time. */
volatile __u32 thread_tgid = 0;
/* Per syscall: what its detail events copy, and whether they are sent. */
volatile struct capture captures[MAX_SYSCALLS];
/* Non-zero: send any call slower than this many ns, with its arguments. */
volatile __u64 slow_ns = 0;
/* Send TCP connections established and closed (network detail is on). */
volatile bool tcp_detail = false;
/* The process traced (the monitor's d): every call of it is sent in detail,
 * whatever its syscall's captures[].detail says, each copying what its capture
 * names. 0: none. traced_start is its start time in clock ticks since boot
 * (model.ProcID's), checked only once the tgid matched, so that a process that
 * reuses the PID is not traced. Go writes traced_tgid last when it starts and
 * first when it stops. The hot paths pay one load and compare, and only where
 * the syscall's own detail is off. TCP connection events do not follow it:
 * they stay with network detail (tcp_detail), as they are sent from softirq
 * and socket state changes, not from the process's calls. */
volatile __u32 traced_tgid = 0;
volatile __u64 traced_start = 0;
/* Set from Go once it has flushed every CPU's cache (the kernel can run a
 * program on a given CPU from 5.10); until then counts go to the maps directly. */
volatile bool use_cpu_cache = false;
/* This architecture's numbers of accept and accept4 (-1: none): an accepted
 * connection is attributed when accept returns it. */
/* Set from Go: the kernel has bpf_get_current_task_btf (5.11), whose pointer
 * the programs may load through; before, the current task is read with probe
 * reads (CO-RE all the same). The branch not taken is never verified. */
const volatile bool have_task_btf = true;
const volatile __u32 nr_accept = -1;
const volatile __u32 nr_accept4 = -1;

/* cpu_cache holds, per CPU, the counts of the last few (process, syscall)
 * counted there that are not yet in proc_stats and proc_hists: a loop of a few
 * syscalls (openat, read, close) then costs a compare per slot per call instead
 * of two hash lookups. A slot is folded in when a new (process, syscall) takes
 * it, the oldest first, and every slot before every read from Go
 * (flush_cpu_cache, run on each CPU). busy is set while a program changes the
 * cache: another program on this CPU (a flush from an interrupt, a hook of a
 * task that preempted it) then leaves the cache alone. */
#define CACHE_SLOTS 4
#define CACHE_HIST_SLOTS 2
struct cache_slot {
	struct proc_key key;
	struct counts c;
	__u32 bucket[CACHE_HIST_SLOTS];
	__u32 in_bucket[CACHE_HIST_SLOTS];
};

struct cpu_cache {
	struct cache_slot slot[CACHE_SLOTS];
	__u32 next; /* the slot a new key takes */
	__u32 busy;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_cache);
} cpu_caches SEC(".maps");

/* Enter records: task-local storage (5.11+), else a tid hash. LRU is right for
 * these: losing one costs one latency sample, and it is counted. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct enter_rec);
} enter_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct enter_rec);
} enter_hash SEC(".maps");

/* Call records of detail events, between entry and exit: task storage, else an
 * LRU tid hash (the loader shrinks the one not used). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct call_event);
} call_store SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2048);
	__type(key, __u32);
	__type(value, struct call_event);
} call_hash SEC(".maps");

/* Bytes moved per process (key nr 0), from successful calls' return values. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct proc_key);
	__type(value, struct io_counts);
} proc_io SEC(".maps");

/* TCP connections of watched processes, by socket address. LRU: sockets whose
 * close we never see must not pile up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tcp_conn);
} tcp_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope_cgroup SEC(".maps");

/* Young threads' tables (see struct young_table). The loader makes it a
 * one-entry hash where young_tables is off. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct young_table);
} young_store SEC(".maps");

/* The loader turns these into PERF_EVENT_ARRAYs when use_ringbuf is false.
 * events carries detail (calls, TCP), lifecycle the processes' exec, fork and
 * exit and the young threads' counts: a flood of detail must never cost a
 * process its name or its counts. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* detail events come in bursts */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* 2,000 process starts a second: ~3 MB/s */
} lifecycle SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} event_scratch SEC(".maps");

/* Slow calls of syscalls without detail are built here, at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call_event);
} call_scratch SEC(".maps");

/* Keep the event types in BTF for bpf2go's -type. */
const struct event *unused_event __attribute__((unused));
const struct call_event *unused_call_event __attribute__((unused));
const struct tcp_event *unused_tcp_event __attribute__((unused));
const struct io_counts *unused_io_counts __attribute__((unused));
const struct counts_event *unused_counts_event __attribute__((unused));
const struct young_table *unused_young_table __attribute__((unused));

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);
	if (v)
		(*v)++;
}

static __always_inline bool in_scope(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	switch (scope_mode) {
	case SCOPE_ALL:
		return true;
	case SCOPE_PIDS:
		return bpf_map_lookup_elem(&scope_pids, &tgid) != NULL;
	case SCOPE_CGROUP:
		return !launch_pending && bpf_current_task_under_cgroup(&scope_cgroup, 0) == 1;
	}
	return false;
}

/* leader_start reads a process's start time from any task pointer. */
static __always_inline __u64 leader_start(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

/* current_task is the task a program runs for: a BTF pointer where the kernel
 * has them (have_task_btf), else one only probe reads may follow. */
static __always_inline struct task_struct *current_task(void)
{
	if (have_task_btf)
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/* follower_start is current_start for a thread that is not its process's
 * leader. Global (see fold_cache_slot), so that the verifier checks its load
 * of group_leader once: it checks each load of a pointer through a BTF
 * pointer with two searches of the kernel's BTF by name (~0.5 ms each on
 * 6.18), and inlined there were 14 of them in sys_enter and sys_exit, some
 * 15 ms of every start. */
__noinline __u64 follower_start(void)
{
	if (!have_task_btf)
		return 0; /* never called then, and the rest never verified */
	return bpf_get_current_task_btf()->group_leader->start_boottime;
}

/* current_start is leader_start for the current task: where the kernel has
 * BTF task pointers, plain loads of its own start for a process's leader (most
 * calls), follower_start for its other threads (+3 ns a call). */
static __always_inline __u64 current_start(struct task_struct *task)
{
	if (!have_task_btf)
		return leader_start(task);
	if (task->pid == task->tgid)
		return task->start_boottime;
	return follower_start();
}

static __always_inline struct enter_rec *enter_lookup(struct task_struct *task, __u32 tid, bool create)
{
	if (use_task_storage)
		return bpf_task_storage_get(&enter_store, task, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	struct enter_rec *r = bpf_map_lookup_elem(&enter_hash, &tid);
	if (r || !create)
		return r;
	struct enter_rec zero = {};
	bpf_map_update_elem(&enter_hash, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&enter_hash, &tid);
}

/* A map that allocates its entries on insert (BPF_F_NO_PREALLOC) answers
 * ENOMEM while its per-CPU store of free entries is empty: inside an interrupt
 * (a flush of the CPU cache) it is refilled only once the interrupt is over.
 * A fold that meets it keeps its counts for later rather than lose them. */
#define ENOMEM 12
#define EEXIST 17

/* proc_counts finds or creates this process's counters for nr. NULL means it
 * could not: *again says that a later try can succeed (ENOMEM); otherwise the
 * map is full and the miss is counted. */
static __always_inline struct counts *proc_counts(struct proc_key *k, bool *again)
{
	struct counts *c = bpf_map_lookup_elem(&proc_stats, k);
	if (c)
		return c;
	struct counts zero = {};
	long err = bpf_map_update_elem(&proc_stats, k, &zero, BPF_NOEXIST);
	*again = err == -ENOMEM;
	if (err && err != -EEXIST /* another CPU made it */) {
		if (!*again)
			bump(CNT_LOST_PROC_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&proc_stats, k);
}

static __always_inline void count_error(struct proc_key *k, long ret)
{
	struct errno_key ek = {
		.tgid = k->tgid,
		.nr = k->nr,
		.err = -ret,
		.start = k->start,
	};
	__u64 *v = bpf_map_lookup_elem(&errno_stats, &ek);
	if (v) {
		(*v)++;
		return;
	}
	__u64 one = 1;
	long err = bpf_map_update_elem(&errno_stats, &ek, &one, BPF_NOEXIST);
	if (err == -17) {
		v = bpf_map_lookup_elem(&errno_stats, &ek);
		if (v)
			(*v)++;
	} else if (err) {
		bump(CNT_LOST_ERRNO_MAP_FULL);
	}
}

/* thread_counts finds or makes the current thread's counters when its process
 * is the one whose threads are shown (NULL otherwise, or when the map is full). */
static __always_inline struct counts *thread_counts(__u32 tgid, __u32 tid)
{
	if (tgid != thread_tgid)
		return NULL;
	struct counts *c = bpf_map_lookup_elem(&thread_stats, &tid);
	if (c)
		return c;
	struct counts zero = {};
	bpf_map_update_elem(&thread_stats, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&thread_stats, &tid);
}

static __always_inline void add_counts(struct counts *to, struct counts *from)
{
	to->calls += from->calls;
	to->errors += from->errors;
	to->lat_sum += from->lat_sum;
	to->lat_count += from->lat_count;
}

/* add_proc_counts adds d to the process's counters, or to the unattributed
 * ones of its syscall when the process map is full. With keep, it returns false
 * and adds nothing when a later try can succeed. */
static __always_inline bool add_proc_counts(struct proc_key *k, struct counts *d, bool keep)
{
	bool again = false;
	struct counts *c = proc_counts(k, &again);
	if (!c && again && keep)
		return false;
	if (!c) {
		if (again)
			bump(CNT_LOST_PROC_MAP_FULL);
		__u32 nr = k->nr;
		c = bpf_map_lookup_elem(&unattributed, &nr);
	}
	if (c)
		add_counts(c, d);
	return true;
}

/* add_proc_hist adds n latencies in bucket b to the process's histogram. With
 * keep, it returns false and adds nothing when a later try can succeed. */
static __always_inline bool add_proc_hist(struct proc_key *k, __u32 b, __u32 n, bool keep)
{
	if (b >= HIST_BUCKETS)
		return true;
	struct proc_hist *h = bpf_map_lookup_elem(&proc_hists, k);
	if (!h) {
		static const struct proc_hist zero = {};
		long err = bpf_map_update_elem(&proc_hists, k, &zero, BPF_NOEXIST);
		if (err == -ENOMEM && keep)
			return false;
		if (err && err != -EEXIST) {
			bump(CNT_LOST_HIST_MAP_FULL);
			return true;
		}
		h = bpf_map_lookup_elem(&proc_hists, k);
		if (!h)
			return true;
	}
	__sync_fetch_and_add(&h->hist[b], n);
	return true;
}

/* fold_slot moves what a cache slot holds into the process maps: false when
 * some of it has to wait for a later try, and stays in the slot. */
static __always_inline bool fold_slot(struct cache_slot *sl)
{
	if (sl->c.calls || sl->c.errors || sl->c.lat_count) {
		if (!add_proc_counts(&sl->key, &sl->c, true))
			return false;
		__builtin_memset(&sl->c, 0, sizeof(sl->c));
	}
	for (int i = 0; i < CACHE_HIST_SLOTS; i++) {
		if (!sl->in_bucket[i])
			continue;
		if (!add_proc_hist(&sl->key, sl->bucket[i], sl->in_bucket[i], true))
			return false;
		sl->in_bucket[i] = 0;
	}
	return true;
}

/* Global functions (neither static nor inlined) are verified once each, in
 * whatever state their callers are: inlined, the detail paths were walked
 * again for every path through sys_enter and sys_exit, and the verifier took
 * 300 ms at every start. Their arguments are the context and scalars only. */

/* fold_cache_slot folds slot i (< CACHE_SLOTS) of this CPU's cache: 1 when
 * some of its counts could not be folded yet and stay cached. */
__noinline int fold_cache_slot(__u32 i)
{
	__u32 zero = 0;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_caches, &zero);
	if (!cc)
		return 0;
	/* Masked rather than bounds-checked: clang drops a mask the check makes
	 * redundant, and the verifier loses the bound on the register it reloads. */
	return !fold_slot(&cc->slot[i & (CACHE_SLOTS - 1)]);
}

/* cache_hist counts one latency in bucket b in the slot: false when both of
 * its bucket slots hold other buckets. */
static __always_inline bool cache_hist(struct cache_slot *sl, __u32 b, __u32 w)
{
	for (int i = 0; i < CACHE_HIST_SLOTS; i++) {
		if (!sl->in_bucket[i] || sl->bucket[i] == b) {
			sl->bucket[i] = b;
			sl->in_bucket[i] += w;
			return true;
		}
	}
	return false;
}

/* What cache_count adds: flags of a call's counts. */
#define CACHE_CALL 1
#define CACHE_ERROR 2
#define CACHE_TIMED 4

/* cache_count adds a call's counts (flags, and its latency lat when timed) to
 * slot i (< CACHE_SLOTS) of this CPU's cache. A global function, so that the
 * verifier walks it once, not once per slot that count_proc may have found.
 * It takes the latency, not its bucket: a bucket passed in is bounded only by
 * a check, which verifiers before 6.x lose when clang spills it (6.1: "math
 * between map_value pointer and register with unbounded min value"). */
__noinline int cache_count(__u32 i, __u32 flags, __u64 lat, __u32 w)
{
	__u32 zero = 0;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_caches, &zero);
	if (!cc)
		return 0;
	struct cache_slot *sl = &cc->slot[i & (CACHE_SLOTS - 1)]; /* see fold_cache_slot */
	sl->c.calls += flags & CACHE_CALL;
	sl->c.errors += (flags & CACHE_ERROR) != 0;
	if (!(flags & CACHE_TIMED))
		return 0;
	sl->c.lat_sum += lat * w;
	sl->c.lat_count += w;
	__u32 b = hist_bucket(lat);
	if (per_proc_hist && !cache_hist(sl, b, w))
		add_proc_hist(&sl->key, b, w, false);
	return 0;
}

static __always_inline bool same_key(struct proc_key *a, struct proc_key *b)
{
	return a->tgid == b->tgid && a->nr == b->nr && a->start == b->start;
}

/* cache_find is the slot of cc that holds k, CACHE_SLOTS if none does. */
static __always_inline __u32 cache_find(struct cpu_cache *cc, struct proc_key *k)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (same_key(&cc->slot[i].key, k))
			return i;
	return CACHE_SLOTS;
}

/* cache_slot_for finds the slot that holds k, or empties the oldest for it:
 * CACHE_SLOTS when that one cannot be emptied yet. */
static __always_inline __u32 cache_slot_for(struct cpu_cache *cc, struct proc_key *k)
{
	__u32 i = cache_find(cc, k);
	if (i < CACHE_SLOTS)
		return i;
	i = cc->next % CACHE_SLOTS;
	if (fold_cache_slot(i))
		return CACHE_SLOTS;
	cc->next = i + 1;
	cc->slot[i].key = *k;
	return i;
}

#define NO_BUCKET ((__u32)-1)

/* count_direct adds a call's counts (and a latency in bucket b unless b is
 * NO_BUCKET) to its process's maps, past the CPU cache. Global, its key and
 * counts packed in scalars (see count_proc): inlined, its lookups and their
 * ways of failing took the verifier's walk of sys_enter and sys_exit from
 * some 45 k instructions each to 75 k and 46 k, a quarter of every start. */
__noinline int count_direct(__u64 tgid_nr, __u64 start, __u64 flags_b, __u64 lat_sum)
{
	struct proc_key k = { .tgid = tgid_nr >> 32, .nr = (__u32)tgid_nr, .start = start };
	struct counts d = {
		.calls = flags_b & 1,
		.errors = (flags_b >> 1) & 1,
		.lat_sum = lat_sum,
		.lat_count = (flags_b >> 8) & 0xffff,
	};
	__u32 b = flags_b >> 32;
	add_proc_counts(&k, &d, false);
	if (b != NO_BUCKET && per_proc_hist)
		add_proc_hist(&k, b, d.lat_count, false);
	return 0;
}

/* count_proc adds d, and a latency in bucket b unless b is NO_BUCKET, to the
 * process's counters: through this CPU's cache when it is free, else
 * directly. d's calls and errors are 0 or 1, its lat_count a call's weight
 * (at most SAMPLE_EVERY); lat is the latency of bucket b. */
static __always_inline void count_proc(struct proc_key *k, struct counts *d, __u32 b, __u64 lat)
{
	__u32 zero = 0;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_caches, &zero);
	__u32 i = CACHE_SLOTS;
	if (use_cpu_cache && cc && !cc->busy) {
		WRITE_ONCE(cc->busy, 1);
		barrier();
		i = cache_slot_for(cc, k);
		if (i < CACHE_SLOTS)
			cache_count(i, (d->calls ? CACHE_CALL : 0) | (d->errors ? CACHE_ERROR : 0) | (d->lat_count ? CACHE_TIMED : 0),
				    lat, d->lat_count);
		barrier();
		WRITE_ONCE(cc->busy, 0);
	}
	/* Past the cache (off, busy, or no slot could be freed): one way for
	 * all three, the verifier walks it once. */
	if (i >= CACHE_SLOTS)
		count_direct((__u64)k->tgid << 32 | k->nr, k->start,
			     (d->calls != 0) | (d->errors != 0) << 1 | (d->lat_count & 0xffff) << 8 | (__u64)b << 32, d->lat_sum);
}

static __always_inline bool is_error(long ret, __u32 nr)
{
	/* rt_sigreturn returns whatever the interrupted code had in its register. */
	return ret < 0 && ret >= -MAX_ERRNO && nr != NR_RT_SIGRETURN;
}

static __always_inline bool is_restart(long ret)
{
	return ret <= -512 && ret >= -516; /* ERESTARTSYS .. ERESTART_RESTARTBLOCK */
}

/* ringbuf_wakeup says whether a record wakes the reader: only once the ring
 * holds wakeup_bytes. A wakeup per record costs more than the record (an
 * interrupt work item and a switch to the reader, at every detailed call); the
 * reader also looks every few milliseconds (bpf.EventReader). */
static __always_inline __u64 ringbuf_wakeup(void *ring, __u64 bytes)
{
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* output writes one record of size bytes to the lifecycle buffer (life) or
 * the detail one: 0, or the helper's error. */
static __always_inline long output(void *ctx, bool life, void *data, __u64 size)
{
	if (use_ringbuf && life)
		return bpf_ringbuf_output(&lifecycle, data, size, ringbuf_wakeup(&lifecycle, life_wakeup_bytes));
	if (use_ringbuf)
		return bpf_ringbuf_output(&events, data, size, ringbuf_wakeup(&events, wakeup_bytes));
	if (life)
		return bpf_perf_event_output(ctx, &lifecycle, BPF_F_CURRENT_CPU, data, size);
	return bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size);
}

/* send_record is output counting the record as attempted, and a failure as a
 * loss: false then. */
static __always_inline bool send_record(void *ctx, bool life, void *data, __u64 size)
{
	bump(CNT_EVENTS_ATTEMPTED);
	if (!output(ctx, life, data, size))
		return true;
	bump(life ? CNT_LOST_LIFECYCLE : CNT_LOST_BUFFER);
	return false;
}

static __always_inline void send_event(void *ctx, struct event *e)
{
	send_record(ctx, true, e, sizeof(*e));
}

/* young_take takes the current thread's young table for a change (making it
 * with create): NULL when the thread's calls go to the hashes, because its
 * process is not young, the table was promoted or is being sent, or none could
 * be made. young_put gives it back. */
static __always_inline struct young_table *young_take(struct task_struct *task, __u64 start, bool create)
{
	if (!young_on() || start < young_since)
		return NULL;
	struct young_table *t = bpf_task_storage_get(&young_store, task, 0,
						     create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!t)
		return NULL;
	if (t->state == YOUNG_NEW) { /* no sweep touches a new table */
		__u64 id = bpf_get_current_pid_tgid();
		t->ev.kind = EVENT_COUNTS;
		t->ev.tgid = id >> 32;
		t->ev.tid = (__u32)id;
		t->ev.start = start;
		t->epoch = read_epoch;
		t->state = YOUNG_COUNTING;
	}
	__sync_fetch_and_add(&t->busy, 1);
	if (READ_ONCE(t->state) != YOUNG_COUNTING) {
		__sync_fetch_and_add(&t->busy, -1);
		return NULL;
	}
	return t;
}

static __always_inline void young_put(struct young_table *t)
{
	__sync_fetch_and_add(&t->busy, -1); /* after every change made */
}

/* young_size is the size of a table's counts event: its used slots only. */
static __always_inline __u64 young_size(struct young_table *t)
{
	__u64 n = t->ev.nslots;
	barrier_var(n);
	if (n > YOUNG_SLOTS)
		n = YOUNG_SLOTS;
	return __builtin_offsetof(struct counts_event, slot) + n * sizeof(struct young_slot);
}

/* young_error counts errno err of syscall nr in the table: false when its
 * errno slots hold others. */
static __always_inline bool young_error_in(struct young_table *t, __u32 nr, __u16 err)
{
	__u32 n = t->ev.nerrs;
	for (int j = 0; j < YOUNG_ERRNOS; j++) {
		if (j >= n)
			break;
		if (t->ev.err[j].nr == nr && t->ev.err[j].err == err) {
			t->ev.err[j].count++;
			return true;
		}
	}
	if (n >= YOUNG_ERRNOS)
		return false;
	struct young_errno *e = &t->ev.err[n & (YOUNG_ERRNOS - 1)];
	e->nr = nr;
	e->err = err;
	e->count = 1;
	t->ev.nerrs = n + 1;
	return true;
}

/* young_error is young_error_in for the current thread's table, which it
 * holds (young_take): 1 when counted there. Global, so that the verifier walks
 * its loop once, not once per path through count_call (see fold_cache_slot). */
__noinline int young_error(__u32 nr, __u32 err)
{
	if (!young_on())
		return 0;
	struct young_table *t = bpf_task_storage_get(&young_store, current_task(), 0, 0);
	return t && young_error_in(t, nr, err);
}

/* young_count adds a call's counts d to the table's slot of syscall nr
 * (< MAX_SYSCALLS): false when its slots hold other syscalls, and the call
 * goes to the hashes. *errno_done says whether its errno was counted too. */
static __always_inline bool young_count(struct young_table *t, __u32 nr, struct counts *d, long ret, bool *errno_done)
{
	__u32 i = t->index[nr & (MAX_SYSCALLS - 1)];
	if (!i) {
		i = t->ev.nslots;
		if (i >= YOUNG_SLOTS)
			return false;
		t->ev.slot[i & (YOUNG_SLOTS - 1)].nr = nr;
		t->ev.nslots = ++i;
		t->index[nr & (MAX_SYSCALLS - 1)] = i;
	}
	struct young_slot *sl = &t->ev.slot[(i - 1) & (YOUNG_SLOTS - 1)];
	sl->calls += d->calls;
	sl->errors += d->errors;
	sl->lat_sum += d->lat_sum;
	sl->lat_count += d->lat_count;
	*errno_done = d->errors && young_error(nr, -ret);
	return true;
}

/* young_exit sends the table of the thread that runs it, which is exiting,
 * and frees it. A table the buffer has no room for adds its counts to the
 * unattributed ones of their syscalls: exact, though without their process.
 * Global: see fold_cache_slot. */
__noinline int young_exit(struct bpf_raw_tracepoint_args *ctx)
{
	if (!young_on())
		return 0;
	struct task_struct *task = current_task();
	__u64 start = current_start(task);
	if (start < young_since)
		return 0; /* an old process's thread has no table */
	struct young_table *t = young_take(task, start, false);
	if (t) {
		t->ev.final = 1;
		if (!send_record(ctx, true, &t->ev, young_size(t))) {
			__u32 n = t->ev.nslots;
			for (int i = 0; i < YOUNG_SLOTS; i++) {
				if (i >= n)
					break;
				struct young_slot *sl = &t->ev.slot[i];
				__u32 nr = sl->nr;
				struct counts *u = bpf_map_lookup_elem(&unattributed, &nr);
				if (u) {
					u->calls += sl->calls;
					u->errors += sl->errors;
					u->lat_sum += sl->lat_sum;
					u->lat_count += sl->lat_count;
				}
			}
		}
	}
	bpf_task_storage_delete(&young_store, task);
	return 0;
}

/* count_call adds one syscall of the current process to every counter: calls
 * (0 for a call already counted at entry), its error if ret is one, and its
 * latency unless lat is NO_LATENCY, as w calls' (see sample_weight). Global:
 * see fold_cache_slot. */
#define NO_LATENCY ((__u64)-1)
__noinline int count_call(__u64 nr, __u64 calls, long ret, __u64 lat, __u32 w)
{
	if (nr >= MAX_SYSCALLS)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = current_task();
	struct proc_key k = { .tgid = id >> 32, .nr = nr, .start = current_start(task) };
	bool is_err = !is_restart(ret) && is_error(ret, nr);
	bool timed = lat != NO_LATENCY && w;
	struct counts d = {
		.calls = calls,
		.errors = is_err,
		.lat_sum = timed ? lat * w : 0,
		.lat_count = timed ? w : 0,
	};
	__u32 b = timed ? hist_bucket(lat) : NO_BUCKET;
	struct sys_counts *s = bpf_map_lookup_elem(&sys_stats, &nr);
	if (s) {
		add_counts(&s->c, &d);
		if (b < HIST_BUCKETS)
			s->hist[b] += w;
	}
	bool errno_done = false;
	struct young_table *y = young_take(task, k.start, true);
	bool young = y && young_count(y, nr, &d, ret, &errno_done);
	if (y)
		young_put(y);
	if (!young)
		count_proc(&k, &d, b, lat);
	if (is_err && !errno_done)
		count_error(&k, ret);
	struct counts *t = thread_counts(k.tgid, (__u32)id);
	if (t)
		add_counts(t, &d);
	return 0;
}

/* flush_cpu_cache folds the cache of the CPU it runs on into the process maps.
 * Go runs it on every CPU (BPF_PROG_TEST_RUN, BPF_F_TEST_RUN_ON_CPU) before it
 * reads them; it returns 1 when it must be asked again: the cache was busy, or
 * a new process's entry could not be made inside the interrupt (ENOMEM). */
SEC("raw_tracepoint/flush_cpu_cache")
int flush_cpu_cache(void *ctx)
{
	__u32 zero = 0;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_caches, &zero);
	if (!cc)
		return 0;
	if (cc->busy)
		return 1;
	int kept = 0;
	for (int i = 0; i < CACHE_SLOTS; i++)
		kept |= fold_cache_slot(i);
	return kept;
}

/* The user's registers at a syscall (the raw tracepoints' first argument):
 * read_args copies its six arguments, SYSCALL_NR reads its number (where
 * sys_exit has no entry record, as after a seccomp denial). Field offsets
 * are CO-RE's, from the target's vmlinux.h. */
#if defined(__TARGET_ARCH_x86)
/* The argument registers of x86_64 syscalls sit in pt_regs from r10 to di, in
 * this order: one read takes all six. */
struct syscall_regs {
	__u64 r10, r9, r8, ax, cx, dx, si, di;
};

static __always_inline void read_args(struct pt_regs *regs, __u64 *args)
{
	struct syscall_regs r = {};
	bpf_probe_read_kernel(&r, sizeof(r), &regs->r10);
	args[0] = r.di;
	args[1] = r.si;
	args[2] = r.dx;
	args[3] = r.r10; /* not cx: the syscall instruction clobbers it */
	args[4] = r.r8;
	args[5] = r.r9;
}

#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#elif defined(__TARGET_ARCH_arm64)
/* arm64 passes them in x0-x5, regs[0] to regs[5]: one read takes all six. At
 * entry x0 is still the first (orig_x0 keeps it once the return value is in). */
static __always_inline void read_args(struct pt_regs *regs, __u64 *args)
{
	__u64 r[6] = {};
	bpf_probe_read_kernel(&r, sizeof(r), &regs->regs[0]);
	for (int i = 0; i < 6; i++)
		args[i] = r[i];
}

/* A signed int: NO_SYSCALL (-1) becomes a slot past MAX_SYSCALLS. */
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#endif

/* call_record finds (or makes) the task's record of its detail call. */
static __always_inline struct call_event *call_record(struct task_struct *task, __u32 tid, bool create)
{
	if (use_task_storage)
		return bpf_task_storage_get(&call_store, task, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	struct call_event *c = bpf_map_lookup_elem(&call_hash, &tid);
	if (c || !create)
		return c;
	__u32 zero = 0;
	struct call_event *init = bpf_map_lookup_elem(&call_scratch, &zero);
	if (!init)
		return NULL;
	bpf_map_update_elem(&call_hash, &tid, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&call_hash, &tid);
}

static __always_inline __u64 arg_at(struct call_event *c, __s8 i)
{
	if (i < 0 || i > 5)
		return 0;
	/* Verifiers before 5.13 lose the check's bound when clang reloads i from
	 * the stack: the mask, which clang cannot drop past the barrier, keeps
	 * the index inside the record on any verifier. */
	__u64 k = i;
	barrier_var(k);
	return c->args[k & 7];
}

/* copy_str copies the string at ptr to data[off] as string slot 0 or 1 and
 * returns the offset after it. Strings come first, so off <= 256 here. */
static __always_inline __u32 copy_str(struct call_event *c, int slot, __u64 ptr, __u32 off)
{
	off &= 511;
	long n = 0;
	if (ptr)
		n = bpf_probe_read_user_str(&c->data[off], CALL_STR_LEN, (void *)ptr);
	if (n <= 0) {
		n = 1; /* nothing read (NULL, or not mapped): an empty span, flagged */
		c->flags |= slot ? CALL_STR1_UNREAD : CALL_STR0_UNREAD;
	} else if (n == CALL_STR_LEN)
		c->flags |= slot ? CALL_STR1_TRUNC : CALL_STR0_TRUNC;
	c->str_off[slot & 1] = off;
	c->str_len[slot & 1] = n - 1;
	return off + n;
}

/* copy_blob copies the struct a capture names (a sockaddr, an open_how). */
static __always_inline __u32 copy_blob(struct call_event *c, struct capture *cap, __u32 off)
{
	__u64 ptr = arg_at(c, cap->blob);
	__u64 len = cap->blob_size;
	if (cap->blob_len_arg >= 0) {
		__u64 v = arg_at(c, cap->blob_len_arg);
		if (cap->blob_len_ptr) {
			__u32 l = 0;
			bpf_probe_read_user(&l, sizeof(l), (void *)v);
			v = l;
		}
		len = v;
	}
	if (len > CALL_BLOB_LEN) {
		len = CALL_BLOB_LEN;
		c->flags |= CALL_BLOB_TRUNC;
	}
	if (off > CALL_DATA_LEN - CALL_BLOB_LEN || !ptr)
		return off;
	if (bpf_probe_read_user(&c->data[off], len, (void *)ptr))
		return off;
	c->blob_off = off;
	c->blob_len = len;
	return off + len;
}

/* copy_argv copies up to CALL_ARGV_MAX entries of an argv array to data[off]
 * of the task's call record, each followed by its NUL, and returns the offset
 * after them. The loop body has as few branches as it can: the verifier walks
 * it once per entry, and every branch multiplies what it walks at load. A
 * global function (see fold_cache_slot), so that the loop is walked once, not
 * once for every offset the strings before it may have left: inlined, it was
 * two thirds of sys_enter's walk (53 k instructions, now 9 k). */
__noinline int copy_argv(__u64 argv, __u64 off)
{
	struct call_event *c = call_record(current_task(), (__u32)bpf_get_current_pid_tgid(), false);
	if (!c)
		return off;
	c->argv_off = off;
	__u16 argc = 0;
	__u64 p = 0;
	int i;
	for (i = 0; i < CALL_ARGV_MAX; i++) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(argv + i * 8)) || !p)
			break;
		if (off > CALL_DATA_LEN - CALL_ARG_LEN)
			break;
		long n = bpf_probe_read_user_str(&c->data[off], CALL_ARG_LEN, (void *)p);
		if (n <= 0)
			break;
		/* n is at most CALL_ARG_LEN (128): bit 7 says the entry was cut */
		c->flags |= ((n >> 7) & 1) * CALL_ARGV_TRUNC;
		off += n;
		argc++;
	}
	/* Stopped with entries left (no room, or past CALL_ARGV_MAX)? */
	p = 0;
	if (argv && !bpf_probe_read_user(&p, sizeof(p), (void *)(argv + argc * 8)) && p)
		c->flags |= CALL_ARGV_TRUNC;
	c->argc = argc;
	c->argv_len = off - c->argv_off;
	return off;
}

/* copy_user copies what the capture names from user memory. Output structs
 * (accept's address) wait for a successful exit. At exit (slow calls) argv is
 * left out: after an exec it is gone, and its loop would double what the
 * verifier walks at load. */
static __always_inline void copy_user(struct call_event *c, struct capture *cap, bool at_exit, long ret)
{
	__u32 off = 0;
	c->str_len[0] = c->str_len[1] = c->blob_len = c->argv_len = 0;
	c->str_off[0] = c->str_off[1] = c->blob_off = c->argv_off = 0;
	c->argc = 0;
	if (cap->str[0] >= 0)
		off = copy_str(c, 0, arg_at(c, cap->str[0]), off);
	if (cap->str[1] >= 0)
		off = copy_str(c, 1, arg_at(c, cap->str[1]), off);
	if (cap->blob >= 0 && (!cap->blob_at_exit || (at_exit && ret >= 0)))
		off = copy_blob(c, cap, off);
	if (cap->argv >= 0 && !at_exit)
		off = copy_argv(arg_at(c, cap->argv), off); /* send_call bounds it */
	c->data_len = off;
}

/* load_capture copies a syscall's capture out of the global Go may rewrite at
 * any time, so one call sees one version of it. */
static __always_inline void load_capture(struct capture *cap, __u32 nr)
{
	if (nr < MAX_SYSCALLS)
		__builtin_memcpy(cap, (const void *)&captures[nr], sizeof(*cap));
}

static __always_inline void send_call(void *ctx, struct call_event *c)
{
	__u64 n = c->data_len;
	barrier_var(n); /* keep the bound check on the register the size comes from */
	if (n > CALL_DATA_LEN)
		n = CALL_DATA_LEN;
	send_record(ctx, false, c, __builtin_offsetof(struct call_event, data) + n);
	bump(CNT_DETAIL_ATTEMPTED);
}

/* begin_call fills the task's call record at entry: arguments, and the strings
 * they point to, read now (they may change after). */
static __always_inline void begin_call(struct bpf_raw_tracepoint_args *ctx, struct task_struct *task,
				       __u64 id, __u32 nr, struct capture *cap, __u64 now)
{
	struct call_event *c = call_record(task, (__u32)id, true);
	if (!c) {
		bump(CNT_LOST_ENTER_MAP_FULL);
		return;
	}
	c->kind = EVENT_SYSCALL;
	c->nr = nr;
	c->flags = 0;
	c->tgid = id >> 32;
	c->tid = (__u32)id;
	c->start = current_start(task);
	c->time = now;
	read_args((struct pt_regs *)ctx->args[0], c->args);
	copy_user(c, cap, false, 0);
	if (nr == NR_EXIT || nr == NR_EXIT_GROUP) { /* they never return: send now */
		c->ret = 0;
		c->duration = 0;
		c->flags |= CALL_NO_DURATION;
		if (!failed_only)
			send_call(ctx, c);
		c->kind = 0;
	}
}

/* NS_PER_TICK turns a boot-time ns start into model.ProcID's clock ticks
 * (USER_HZ, model.ClockTicksPerSecond). */
#define NS_PER_TICK (1000000000ULL / 100)

/* traced says the current task's process is the one traced (traced_tgid and
 * traced_start): its callers have already seen its tgid match, so the start
 * time is read only for that process's calls. */
static __always_inline bool traced(struct task_struct *task, __u32 tgid)
{
	__u32 want = traced_tgid;
	return want && want == tgid && current_start(task) / NS_PER_TICK == traced_start;
}

/* enter_detail begins the detail event of a call entered at now (0: unknown),
 * if its syscall's detail is on or its process is traced. Global: see
 * fold_cache_slot. */
__noinline int enter_detail(struct bpf_raw_tracepoint_args *ctx, __u64 nr, __u64 now)
{
	if (nr >= MAX_SYSCALLS)
		return 0;
	/* Checked in this register: older verifiers (5.10, 6.1) do not carry
	 * the bound to a copy clang spilled before the check. */
	barrier_var(nr);
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = current_task();
	struct capture cap = {};
	load_capture(&cap, nr);
	if (!cap.detail && !traced(task, id >> 32))
		return 0;
	begin_call(ctx, task, id, nr, &cap, now ? now : bpf_ktime_get_ns());
	return 0;
}

/* finish_call sends the call begun at entry, with its result. */
static __always_inline void finish_call(void *ctx, struct call_event *c, struct capture *cap, long ret, __u64 now)
{
	c->ret = ret;
	c->duration = now - c->time;
	c->time = now;
	if (slow_ns && c->duration >= slow_ns)
		c->flags |= CALL_SLOW;
	if (cap->blob >= 0 && cap->blob_at_exit && ret >= 0)
		c->data_len = copy_blob(c, cap, c->data_len);
	if (!failed_only || is_error(ret, c->nr))
		send_call(ctx, c);
	c->kind = 0;
}

/* send_slow sends a call slower than slow_ns whose detail is off: its
 * arguments were saved at entry, its strings are read now. */
static __always_inline void send_slow(void *ctx, __u64 id, struct task_struct *task, __u32 nr,
				      long ret, __u64 lat, __u64 now, struct enter_rec *r, struct capture *cap)
{
	__u32 zero = 0;
	struct call_event *c = bpf_map_lookup_elem(&call_scratch, &zero);
	if (!c)
		return;
	c->kind = EVENT_SYSCALL;
	c->nr = nr;
	c->flags = CALL_SLOW | CALL_AT_EXIT;
	c->tgid = id >> 32;
	c->tid = (__u32)id;
	c->start = current_start(task);
	c->time = now;
	c->ret = ret;
	c->duration = lat;
	for (int i = 0; i < 6; i++)
		c->args[i] = r->args[i];
	if (nr != COMPAT_NR)
		copy_user(c, cap, true, ret);
	else
		c->data_len = 0;
	send_call(ctx, c);
}

/* add_bytes adds a successful call's byte count ret of kind to io. */
static __always_inline void add_bytes(struct io_counts *io, __u8 kind, long ret)
{
	switch (kind) {
	case IO_READ:
		io->read += ret;
		break;
	case IO_WRITE:
		io->written += ret;
		break;
	case IO_RECV:
		io->received += ret;
		break;
	case IO_SEND:
		io->sent += ret;
		break;
	}
}

/* add_io adds a successful call's byte count to its process. */
static __always_inline void add_io(__u32 tgid, __u64 start, __u8 kind, long ret)
{
	struct young_table *t = young_take(current_task(), start, false);
	if (t) {
		add_bytes(&t->ev.io, kind, ret);
		young_put(t);
		return;
	}
	struct proc_key k = { .tgid = tgid, .nr = 0, .start = start };
	struct io_counts *io = bpf_map_lookup_elem(&proc_io, &k);
	if (!io) {
		struct io_counts zero = {};
		long err = bpf_map_update_elem(&proc_io, &k, &zero, BPF_NOEXIST);
		if (err && err != -17) {
			bump(CNT_LOST_PROC_MAP_FULL);
			return;
		}
		io = bpf_map_lookup_elem(&proc_io, &k);
		if (!io)
			return;
	}
	add_bytes(io, kind, ret);
}

/* read_tuple copies a socket's addresses into a connection record. */
static __always_inline void read_tuple(struct tcp_conn *c, struct sock *sk)
{
	c->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (c->family == AF_INET) {
		BPF_CORE_READ_INTO(&c->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&c->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&c->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&c->daddr, sk, __sk_common.skc_v6_daddr);
	}
	c->established = 1;
}

static __always_inline void send_tcp(void *ctx, struct tcp_conn *c, int oldstate, int newstate)
{
	struct tcp_event e = {
		.kind = EVENT_TCP,
		.oldstate = oldstate,
		.newstate = newstate,
		.tgid = c->tgid,
		.start = c->start,
		.time = bpf_ktime_get_ns(),
		.family = c->family,
		.sport = c->sport,
		.dport = c->dport,
	};
	__builtin_memcpy(e.saddr, c->saddr, sizeof(e.saddr));
	__builtin_memcpy(e.daddr, c->daddr, sizeof(e.daddr));
	send_record(ctx, false, &e, sizeof(e));
	bump(CNT_DETAIL_ATTEMPTED);
}

/* accepted_tcp takes in the connection accept returned as fd: its handshake
 * ended in softirq, before anyone in scope touched it. */
static __always_inline void accepted_tcp(void *ctx, struct task_struct *task, __u64 id, long fd)
{
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (!fds || fd < 0 || fd >= max)
		return;
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return;
	struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return;
	__u64 key = (__u64)sk;
	struct tcp_conn c = { .tgid = id >> 32, .start = current_start(task) };
	read_tuple(&c, sk);
	bpf_map_update_elem(&tcp_conns, &key, &c, BPF_ANY);
	send_tcp(ctx, &c, TCP_SYN_RECV, TCP_ESTABLISHED);
}

/* exit_detail sends a call's detail event, or a slow-call event (global: see
 * fold_cache_slot). */
__noinline int exit_detail(struct bpf_raw_tracepoint_args *ctx, __u64 nr, long ret, __u64 enter_ts, __u64 now)
{
	if (nr >= MAX_SYSCALLS)
		return 0;
	barrier_var(nr); /* see enter_detail */
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = current_task();
	struct capture cap = {};
	load_capture(&cap, nr);
	if (!now)
		now = bpf_ktime_get_ns();
	if (cap.detail || traced(task, id >> 32)) {
		struct call_event *c = call_record(task, (__u32)id, false);
		if (c && c->kind == EVENT_SYSCALL && c->nr == nr) {
			finish_call(ctx, c, &cap, ret, now);
			return 0;
		}
	}
	if (slow_ns && enter_ts && now - enter_ts >= slow_ns && (!failed_only || is_error(ret, nr))) {
		struct enter_rec *r = enter_lookup(task, (__u32)id, false);
		if (r)
			send_slow(ctx, id, task, nr, ret, now - enter_ts, now, r, &cap);
	}
	return 0;
}

/* accept_detail claims the TCP connection accept returned as fd. */
__noinline int accept_detail(struct bpf_raw_tracepoint_args *ctx, long fd)
{
	accepted_tcp(ctx, current_task(), bpf_get_current_pid_tgid(), fd);
	return 0;
}

/* after_call does what a call's exit asks beyond counting: bytes moved, its
 * detail event, a slow-call event. It runs on every exit: the common case, a
 * call with neither bytes nor detail of a process not traced, reads two bytes
 * and traced_tgid. now is the time of the exit, or 0 when it was not read: the
 * clock costs tens of ns a read. */
static __always_inline void after_call(struct bpf_raw_tracepoint_args *ctx, __u32 tgid, __u64 nr, long ret,
				       __u64 enter_ts, __u64 now)
{
	if (nr >= MAX_SYSCALLS)
		return;
	__u8 io = captures[nr].io;
	if (io && ret > 0)
		add_io(bpf_get_current_pid_tgid() >> 32, current_start(current_task()), io, ret);
	if (tcp_detail && ret >= 0 && (nr == nr_accept || nr == nr_accept4))
		accept_detail(ctx, ret);
	if (captures[nr].detail || slow_ns || tgid == traced_tgid)
		exit_detail(ctx, nr, ret, enter_ts, now);
}

/* counted_at_entry: the calls that never return, and exec, whose return may
 * come under another thread id (the leader's, when a thread execs), where the
 * tid-hash store would not find its entry record. Every other call is counted
 * at exit. */
static __always_inline bool counted_at_entry(__u32 nr)
{
	return nr == NR_EXIT || nr == NR_EXIT_GROUP || nr == NR_EXECVE || nr == NR_EXECVEAT;
}

/* syscall_slot is where a syscall is counted: its number, or COMPAT_NR for a
 * 32-bit syscall, whose numbers belong to another table: on x86 one made
 * through the ia32 entries (int $0x80, sysenter, a 32-bit process's syscall),
 * which TS_COMPAT marks while it runs; on arm64 any of an AArch32 task's,
 * which TIF_32BIT marks (arch/arm64/include/asm/thread_info.h: 22 in 5.4 and
 * 6.12 alike). */
#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002 /* in thread_info.status */
#define COMPAT_FIELD status
#define COMPAT_MASK TS_COMPAT
#elif defined(__TARGET_ARCH_arm64)
#define TIF_32BIT 22 /* in thread_info.flags */
#define COMPAT_FIELD flags
#define COMPAT_MASK (1UL << TIF_32BIT)
#endif

static __always_inline __u64 syscall_slot(struct task_struct *task, __u64 nr)
{
	if (have_task_btf) {
		if (task->thread_info.COMPAT_FIELD & COMPAT_MASK)
			nr = COMPAT_NR;
	} else if (BPF_CORE_READ(task, thread_info.COMPAT_FIELD) & COMPAT_MASK) {
		nr = COMPAT_NR;
	}
	/* One register for the result: the bound checks after the call must hold
	 * for the register that indexes the arrays, not for a copy clang remakes. */
	barrier_var(nr);
	return nr;
}

/* With sample_latency (--sample-latency), latency is sampled where a call is
 * hot: a clock read costs ~25 ns here, two a timed call, more than the rest
 * of the hot path (docs/performance.md, issue 22). Off by default: then every
 * call is timed and lat_count equals the calls timed exactly. Every call of a
 * thread's syscall is timed until it has made SAMPLE_AFTER of them, then one
 * in SAMPLE_EVERY, counted SAMPLE_EVERY times (its latency and its histogram
 * bucket): the mean, the total and the percentiles stay unbiased, lat_count
 * stays within SAMPLE_EVERY - 1 of the calls per thread and syscall (never
 * above), and a syscall a thread makes rarely is timed at every call. The
 * calls themselves are counted exactly either way. seen[] counts a thread's
 * calls by a hash of the syscall (a collision only shares a phase) in its
 * entry record, which the call looks up anyway. */
#define SAMPLE_AFTER 64
#define SAMPLE_EVERY 16 /* a power of two, SAMPLE_AFTER a multiple of it */
#define SAMPLE_SLOTS 32 /* of seen[]: a power of two */
#define ENTER_UNTIMED 1 /* an enter_rec's ts for a call entered, not timed */

/* sample_weight counts a call of syscall nr in the thread's record: how many
 * calls its latency stands for, 0 for a call not timed. */
static __always_inline __u32 sample_weight(struct enter_rec *r, __u64 nr)
{
	__u8 *c = &r->seen[(nr ^ (nr >> 5)) & (SAMPLE_SLOTS - 1)];
	__u32 n = *c;
	*c = n == 255 ? SAMPLE_AFTER : n + 1;
	if (n < SAMPLE_AFTER)
		return 1;
	/* The last of every SAMPLE_EVERY calls, so that its weight is never
	 * ahead of the calls counted. */
	return (n & (SAMPLE_EVERY - 1)) == SAMPLE_EVERY - 1 ? SAMPLE_EVERY : 0;
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = current_task();
	__u64 nr = syscall_slot(task, ctx->args[1]);

	if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr])
		return 0;

	bool recorded = false;
	bool detail = captures[nr].detail || tgid == traced_tgid;
	__u64 now = 0;
	if (track_latency || failed_only) {
		struct enter_rec *r = enter_lookup(task, (__u32)id, true);
		if (r) {
			/* Detail events, slow calls and failures have a duration:
			 * those are always timed. */
			__u32 w = 1;
			if (sample_latency && !slow_ns && !failed_only && !detail)
				w = sample_weight(r, nr);
			r->ts = w ? (now = bpf_ktime_get_ns()) : ENTER_UNTIMED;
			r->nr = nr;
			r->pad = w;
			if (slow_ns)
				read_args((struct pt_regs *)ctx->args[0], r->args);
			recorded = true;
		} else {
			bump(CNT_LOST_ENTER_MAP_FULL);
		}
	}
	if (detail)
		enter_detail(ctx, nr, now);
	if (failed_only)
		return 0; /* counted at exit, if it fails */
	/* A call is counted at exit, where one lookup per map takes its count and
	 * its latency together; without an entry record here, its exit would take
	 * it for a seccomp denial, and only a failure would count. */
	if (!counted_at_entry(nr) && (recorded || !track_latency))
		return 0;

	count_call(nr, 1, 0, NO_LATENCY, 0);
	return 0;
}

/* count_untimed counts in place the commonest call there is where latency is
 * off (--no-latency) or sampled (--sample-latency): one not timed, that did
 * not fail, of a process neither young nor the one whose threads are counted,
 * whose (process, syscall) holds a slot of this CPU's cache. It is
 * count_call's way for it without count_call's call, its second look at the
 * task (two helper calls) and cache_count's call and second lookup of the
 * cache: 9 ns of the ~60 ns sys_exit costs a getppid with --no-latency. False,
 * having changed nothing, for any other call, which count_call counts. A
 * timed call goes to count_call: with a histogram bucket to find, the paths
 * of this one inlined had the verifier walk sys_exit's instructions twice as
 * often (75k to 127k), for no gain measured by default. */
static __always_inline bool count_untimed(__u64 id, struct task_struct *task, __u64 nr, long ret)
{
	if (!use_cpu_cache || nr >= MAX_SYSCALLS || (__u32)(id >> 32) == thread_tgid || is_error(ret, nr))
		return false;
	struct proc_key k = { .tgid = id >> 32, .nr = nr, .start = current_start(task) };
	if (young_on() && k.start >= young_since)
		return false;
	__u32 zero = 0;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_caches, &zero);
	if (!cc || cc->busy)
		return false;
	__u32 i = cache_find(cc, &k);
	if (i >= CACHE_SLOTS)
		return false;
	struct cache_slot *sl = &cc->slot[i & (CACHE_SLOTS - 1)]; /* see fold_cache_slot */
	struct sys_counts *s = bpf_map_lookup_elem(&sys_stats, &nr);
	if (s)
		s->c.calls++;
	WRITE_ONCE(cc->busy, 1);
	barrier();
	sl->c.calls++;
	barrier();
	WRITE_ONCE(cc->busy, 0);
	return true;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	long ret = ctx->args[1];
	struct task_struct *task = current_task();
	struct enter_rec *r = 0;
	__u64 enter_ts = 0;
	__u64 nr;

	if (track_latency || failed_only) {
		r = enter_lookup(task, (__u32)id, false);
		if (r && r->ts) {
			enter_ts = r->ts;
			r->ts = 0; /* consumed, whatever the scope says now */
		}
	}

	bool count = true, seen = true;
	__u64 calls = 1, lat = NO_LATENCY, now = 0, weight = 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	if (launch_tgid && launch_tgid == tgid) {
		/* The execve that started the command returns: its first call. */
		launch_tgid = 0;
		if (!nr_disabled[NR_EXECVE] && !failed_only)
			count_call(NR_EXECVE, 1, 0, NO_LATENCY, 0);
		return 0;
	}
	if (enter_ts) {
		nr = r->nr;
		if (nr >= MAX_SYSCALLS)
			return 0;
		bool restart = is_restart(ret);
		if (restart)
			bump(CNT_RESTARTS);
		count = !failed_only || (!restart && is_error(ret, nr));
		calls = failed_only || !counted_at_entry(nr);
		if (track_latency && enter_ts != ENTER_UNTIMED) {
			now = bpf_ktime_get_ns();
			if (!restart) {
				lat = now - enter_ts;
				weight = r->pad;
			}
		}
	} else if (!track_latency && !failed_only) {
		/* Counting at exit (see sys_enter): every exit is a call, but the
		 * new task's return from a fork. */
		nr = syscall_slot(task, SYSCALL_NR(regs));
		barrier_var(nr);
		if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr])
			return 0;
		if (ret == 0 && IS_FORK_NR(nr))
			return 0;
		if (is_restart(ret))
			bump(CNT_RESTARTS);
		calls = !counted_at_entry(nr);
	} else {
		/* No enter seen. Only a failure can be a call (seccomp denial); a
		 * fork child's 0 and an exec from a non-leader thread are not. */
		if (ret >= 0 || is_restart(ret))
			return 0;
		nr = syscall_slot(task, SYSCALL_NR(regs));
		barrier_var(nr);
		if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr] || !is_error(ret, nr))
			return 0;
		__u64 started = have_task_btf ? task->start_boottime : BPF_CORE_READ(task, start_boottime);
		if (!r && started < scope_since) {
			/* We never saw this task enter anything and it predates the
			 * scope: it was already inside this syscall when we started
			 * watching. */
			bump(CNT_UNPAIRED_IGNORED);
			return 0;
		}
		seen = false;
	}
	if (count && !(calls && (lat == NO_LATENCY || !weight) && count_untimed(id, task, nr, ret)))
		count_call(nr, calls, ret, lat, weight);
	if (seen)
		after_call(ctx, tgid, nr, ret, enter_ts == ENTER_UNTIMED ? 0 : enter_ts, now);
	return 0;
}

static __always_inline struct event *new_event(__u8 kind)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&event_scratch, &zero);
	if (!e)
		return NULL;
	e->kind = kind;
	e->exit_code = 0;
	e->exit_signal = 0;
	e->core_dumped = 0;
	e->ppid = 0;
	e->parent_start = 0;
	e->filename[0] = 0;
	e->time = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	return e;
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 child_pid = BPF_CORE_READ(child, pid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	if (child_pid != child_tgid)
		return 0; /* a new thread, not a new process */

	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	if (!in_scope(ptgid))
		return 0;
	if (scope_mode == SCOPE_PIDS) {
		if (!follow_children)
			return 0;
		__u8 one = 1;
		if (bpf_map_update_elem(&scope_pids, &child_tgid, &one, BPF_ANY))
			bump(CNT_LOST_SCOPE_MAP_FULL);
	}

	struct event *e = new_event(EVENT_FORK);
	if (!e)
		return 0;
	e->tgid = child_tgid;
	e->tid = child_pid;
	e->start = BPF_CORE_READ(child, start_boottime);
	e->ppid = ptgid;
	e->parent_start = leader_start(parent);
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	send_event(ctx, e);
	return 0;
}

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
/* forget_thread drops the records a thread left in the tid hashes (task
 * storage frees them with the task): the thread ended, or its id went away
 * when it exec'd from a thread that was not the leader. Without this, every
 * exited thread's entry would stay until the LRU pushed it out. */
static __always_inline void forget_thread(__u32 tid)
{
	if (use_task_storage)
		return;
	bpf_map_delete_elem(&enter_hash, &tid);
	bpf_map_delete_elem(&call_hash, &tid);
}

SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (launch_pending && scope_mode == SCOPE_CGROUP && bpf_current_task_under_cgroup(&scope_cgroup, 0) == 1) {
		/* The command's own first call is the execve that got here, whose
		 * entry came while the scope was closed: sys_exit counts it. */
		launch_pending = 0;
		launch_tgid = tgid;
	}
	if (!in_scope(tgid))
		return 0;
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	/* A thread that execs takes its leader's id: its own is gone. */
	__u32 old_tid = ctx->args[1];
	if (old_tid != (__u32)id)
		forget_thread(old_tid);

	struct event *e = new_event(EVENT_EXEC);
	if (!e)
		return 0;
	e->tgid = tgid;
	e->tid = (__u32)id;
	e->start = leader_start(task);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->parent_start = BPF_CORE_READ(task, real_parent, group_leader, start_boottime);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	const char *filename = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), filename);
	send_event(ctx, e);
	return 0;
}

/* sched_process_exit(struct task_struct *p[, bool group_dead]): fires per thread;
 * the process is gone when the last thread leaves (signal->live reaches 0). */
SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	young_exit(ctx); /* every thread's, before its process's exit event */
	forget_thread((__u32)id);
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!in_scope(tgid))
		return 0;

	struct event *e = new_event(EVENT_EXIT);
	if (!e)
		return 0;
	int code = BPF_CORE_READ(task, exit_code);
	e->tgid = tgid;
	e->tid = (__u32)id;
	e->start = leader_start(task);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (code >> 8) & 0xff;
	e->exit_signal = code & 0x7f;
	e->core_dumped = (code & 0x80) != 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	send_event(ctx, e);

	/* A dead process leaves the PID scope: its PID may be reused. */
	if (scope_mode == SCOPE_PIDS)
		bpf_map_delete_elem(&scope_pids, &tgid);
	return 0;
}

/* young_sweep promotes the table of every young thread that has lived
 * through a whole read: it sends its counts, and the thread's calls go to the
 * hashes from then on. Go runs it at every read, and once more when the
 * syscall programs are detached, with every table old enough, so that a final
 * summary also has the counts of threads still alive. A table the buffer has
 * no room for waits for the next sweep: not a loss. */
SEC("iter/task")
int young_sweep(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!young_on() || !task)
		return 0;
	struct young_table *t = bpf_task_storage_get(&young_store, task, 0, 0);
	if (!t || t->state != YOUNG_COUNTING || read_epoch - t->epoch < 2)
		return 0;
	WRITE_ONCE(t->state, YOUNG_SWEEPING);
	__sync_fetch_and_add(&t->busy, 1);
	__u32 busy = READ_ONCE(t->busy);
	__sync_fetch_and_add(&t->busy, -1);
	if (busy != 1) {
		t->state = YOUNG_COUNTING; /* its thread has it now: at the next sweep */
		return 0;
	}
	if (output(ctx, true, &t->ev, young_size(t))) {
		t->state = YOUNG_COUNTING; /* no room: at the next sweep */
		return 0;
	}
	bump(CNT_EVENTS_ATTEMPTED);
	t->state = YOUNG_PROMOTED;
	return 0;
}

/* inet_sock_set_state(const struct sock *sk, int oldstate, int newstate): TCP
 * connections of watched processes, established and closed, with their
 * addresses. Only connect() runs in the owner's context (SYN_SENT): later
 * changes run in softirq, where the current task is anyone, so the owner is
 * remembered by socket. Accepted connections are taken in when accept returns
 * them (accepted_tcp). */
SEC("raw_tracepoint/inet_sock_set_state")
int inet_sock_set_state(struct bpf_raw_tracepoint_args *ctx)
{
	if (!tcp_detail)
		return 0;
	struct sock *sk = (struct sock *)ctx->args[0];
	int oldstate = ctx->args[1];
	int newstate = ctx->args[2];
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	__u64 key = (__u64)sk;

	if (newstate == TCP_SYN_SENT) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (!in_scope(tgid))
			return 0;
		struct tcp_conn c = { .tgid = tgid, .start = current_start(current_task()) };
		bpf_map_update_elem(&tcp_conns, &key, &c, BPF_ANY);
		return 0;
	}
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE)
		return 0;
	struct tcp_conn *c = bpf_map_lookup_elem(&tcp_conns, &key);
	if (!c)
		return 0;
	if (newstate == TCP_ESTABLISHED) {
		read_tuple(c, sk);
		send_tcp(ctx, c, oldstate, newstate);
		return 0;
	}
	if (!c->established) /* refused or never answered: the addresses now */
		read_tuple(c, sk);
	send_tcp(ctx, c, oldstate, newstate);
	bpf_map_delete_elem(&tcp_conns, &key);
	return 0;
}

