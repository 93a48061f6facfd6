//go:build ignore

// tlmon's kernel side. Counting happens here, in per-CPU maps, because streaming
// one record per syscall to user space costs about four times as much (see
// ../shared/DESIGN.md). The ring buffer (or perf buffer) carries only lifecycle
// events: exec, fork and exit, so short-lived processes still get a name.
//
// Where a call is counted: at sys_enter. Errors and latency at sys_exit. An exit
// without a matching enter is a syscall denied by seccomp (count it), a fork child
// returning 0 or an exec from a non-leader thread (not a call), or a syscall that
// was already running when we started watching (ignore).

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "bpf_core_read.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_SYSCALLS 512 /* model.MaxSyscallNr */
#define HIST_MAX_LOG2 39 /* model.HistMaxLog2 */
#define HIST_BUCKETS (2 * HIST_MAX_LOG2 + 2)
#define COMM_LEN 16
#define FILENAME_LEN 256
#define MAX_ERRNO 4095

/* x86_64 numbers of the calls the hooks treat specially. */
#define NR_RT_SIGRETURN 15 /* its return value is never an error */
#define NR_CLONE 56        /* the new task returns 0 from these without entering */
#define NR_FORK 57
#define NR_VFORK 58
#define NR_CLONE3 435
#define NR_EXIT 60 /* these never return */
#define NR_EXIT_GROUP 231

enum scope_mode {
	SCOPE_ALL = 0,
	SCOPE_PIDS = 1,
	SCOPE_CGROUP = 2,
};

/* Counter slots, in the order of model.LossCause, then the others. */
enum counter {
	CNT_LOST_BUFFER = 0,
	CNT_LOST_PROC_MAP_FULL,
	CNT_LOST_ERRNO_MAP_FULL,
	CNT_LOST_HIST_MAP_FULL,
	CNT_LOST_ENTER_MAP_FULL,
	CNT_LOST_SCOPE_MAP_FULL,
	CNT_EVENTS_ATTEMPTED,
	CNT_RESTARTS,
	CNT_UNPAIRED_IGNORED,
	CNT_MAX,
};

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_FORK = 2,
	EVENT_EXIT = 3,
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
	__u64 ts; /* 0: no syscall in flight */
	__u32 nr;
	__u32 pad;
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

/* Load-time settings (rodata: the verifier prunes what they switch off). */
const volatile __u32 self_tgid = 0;
const volatile bool use_ringbuf = true;
const volatile bool use_task_storage = true;
const volatile bool track_latency = true;
const volatile bool per_proc_hist = true;

/* Run-time settings, written by Go while attached. */
volatile __u32 scope_mode = SCOPE_ALL;
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct sys_counts);
} sys_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct counts);
} unattributed SEC(".maps");

/* Plain (not LRU) hashes: a full map must be visible and counted, never evict. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536); /* capped by the loader on machines with many CPUs */
	__type(key, struct proc_key);
	__type(value, struct counts);
} proc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct errno_key);
	__type(value, __u64);
} errno_stats SEC(".maps");

/* Shared (not per-CPU) with atomic adds: per-CPU copies of 80 buckets would cost
 * entries x 320 B x CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct proc_key);
	__type(value, struct proc_hist);
} proc_hists SEC(".maps");

/* Per-thread counts of the process thread_tgid, keyed by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct counts);
} thread_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} scope_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope_cgroup SEC(".maps");

/* The loader turns this into a PERF_EVENT_ARRAY when use_ringbuf is false. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} event_scratch SEC(".maps");

/* Keep the event type in BTF for bpf2go's -type. */
const struct event *unused_event __attribute__((unused));

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);
	if (v)
		(*v)++;
}

/* hist_bucket mirrors model.HistBucket: half-octave buckets. */
static __always_inline __u32 hist_bucket(__u64 ns)
{
	if (ns < 2)
		return ns;
	__u32 l = 0;
	__u64 v = ns;
	if (v >> 32) { v >>= 32; l += 32; }
	if (v >> 16) { v >>= 16; l += 16; }
	if (v >> 8) { v >>= 8; l += 8; }
	if (v >> 4) { v >>= 4; l += 4; }
	if (v >> 2) { v >>= 2; l += 2; }
	if (v >> 1) { l += 1; }
	if (l > HIST_MAX_LOG2)
		return HIST_BUCKETS - 1;
	__u32 half = (ns >> (l - 1)) & 1;
	return 2 * l + half;
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
		return bpf_current_task_under_cgroup(&scope_cgroup, 0) == 1;
	}
	return false;
}

/* leader_start reads a process's start time from any task pointer. */
static __always_inline __u64 leader_start(struct task_struct *task)
{
	return BPF_CORE_READ(task, group_leader, start_boottime);
}

/* current_start is leader_start for the current task, through its BTF pointer:
 * plain loads instead of probe reads, on the hot path. */
static __always_inline __u64 current_start(struct task_struct *task)
{
	return task->group_leader->start_boottime;
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

/* proc_counts finds or creates this process's counters for nr. NULL means the
 * map is full: the caller counts an attribution miss. */
static __always_inline struct counts *proc_counts(struct proc_key *k)
{
	struct counts *c = bpf_map_lookup_elem(&proc_stats, k);
	if (c)
		return c;
	struct counts zero = {};
	long err = bpf_map_update_elem(&proc_stats, k, &zero, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU made it */) {
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

/* count_calls adds calls and errors for one syscall of the current process. */
static __always_inline void count_calls(struct proc_key *k, __u64 calls, long ret, bool is_err)
{
	__u32 nr = k->nr;
	struct sys_counts *s = bpf_map_lookup_elem(&sys_stats, &nr);
	if (s) {
		s->c.calls += calls;
		s->c.errors += is_err;
	}
	struct counts *c = proc_counts(k);
	if (c) {
		c->calls += calls;
		c->errors += is_err;
	} else {
		struct counts *u = bpf_map_lookup_elem(&unattributed, &nr);
		if (u) {
			u->calls += calls;
			u->errors += is_err;
		}
	}
	if (is_err)
		count_error(k, ret);
	struct counts *t = thread_counts(k->tgid, (__u32)bpf_get_current_pid_tgid());
	if (t) {
		t->calls += calls;
		t->errors += is_err;
	}
}

static __always_inline void record_latency(struct proc_key *k, __u64 lat)
{
	__u32 nr = k->nr;
	__u32 b = hist_bucket(lat);
	if (b >= HIST_BUCKETS)
		return;
	struct sys_counts *s = bpf_map_lookup_elem(&sys_stats, &nr);
	if (s) {
		s->c.lat_sum += lat;
		s->c.lat_count++;
		s->hist[b]++;
	}
	struct counts *c = bpf_map_lookup_elem(&proc_stats, k);
	if (c) {
		c->lat_sum += lat;
		c->lat_count++;
	} else {
		struct counts *u = bpf_map_lookup_elem(&unattributed, &nr);
		if (u) {
			u->lat_sum += lat;
			u->lat_count++;
		}
	}
	struct counts *t = thread_counts(k->tgid, (__u32)bpf_get_current_pid_tgid());
	if (t) {
		t->lat_sum += lat;
		t->lat_count++;
	}
	if (!per_proc_hist)
		return;
	struct proc_hist *h = bpf_map_lookup_elem(&proc_hists, k);
	if (!h) {
		static const struct proc_hist zero = {};
		long err = bpf_map_update_elem(&proc_hists, k, &zero, BPF_NOEXIST);
		if (err && err != -17) {
			bump(CNT_LOST_HIST_MAP_FULL);
			return;
		}
		h = bpf_map_lookup_elem(&proc_hists, k);
		if (!h)
			return;
	}
	__sync_fetch_and_add(&h->hist[b], 1);
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u64 nr = ctx->args[1];

	if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr])
		return 0;

	struct task_struct *task = bpf_get_current_task_btf();
	if (track_latency || failed_only) {
		struct enter_rec *r = enter_lookup(task, (__u32)id, true);
		if (r) {
			r->ts = bpf_ktime_get_ns();
			r->nr = nr;
		} else {
			bump(CNT_LOST_ENTER_MAP_FULL);
		}
	}
	if (failed_only)
		return 0; /* counted at exit, if it fails */
	/* Without entry records an exit cannot tell a seccomp denial from a call
	 * counted here: count at exit then, but for the calls that never return. */
	if (!track_latency && nr != NR_EXIT && nr != NR_EXIT_GROUP)
		return 0;

	struct proc_key k = { .tgid = tgid, .nr = nr, .start = current_start(task) };
	count_calls(&k, 1, 0, false);
	return 0;
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

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	long ret = ctx->args[1];
	struct task_struct *task = bpf_get_current_task_btf();
	struct enter_rec *r = 0;
	__u64 enter_ts = 0;
	__u32 nr;

	if (track_latency || failed_only) {
		r = enter_lookup(task, (__u32)id, false);
		if (r && r->ts) {
			enter_ts = r->ts;
			r->ts = 0; /* consumed, whatever the scope says now */
		}
	}

	if (enter_ts) {
		nr = r->nr;
		if (nr >= MAX_SYSCALLS)
			return 0;
		struct proc_key k = { .tgid = tgid, .nr = nr, .start = current_start(task) };
		bool restart = is_restart(ret);
		bool err = !restart && is_error(ret, nr);
		if (restart)
			bump(CNT_RESTARTS);
		if (failed_only) {
			if (err)
				count_calls(&k, 1, ret, true);
		} else if (err) {
			count_calls(&k, 0, ret, true);
		}
		if (track_latency && !restart && (!failed_only || err))
			record_latency(&k, bpf_ktime_get_ns() - enter_ts);
		return 0;
	}

	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	if (!track_latency && !failed_only) {
		/* Counting at exit (see sys_enter): every exit is a call, but the
		 * new task's return from a fork. */
		nr = BPF_CORE_READ(regs, orig_ax);
		if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr])
			return 0;
		if (ret == 0 && (nr == NR_CLONE || nr == NR_FORK || nr == NR_VFORK || nr == NR_CLONE3))
			return 0;
		bool restart = is_restart(ret);
		if (restart)
			bump(CNT_RESTARTS);
		struct proc_key k = { .tgid = tgid, .nr = nr, .start = current_start(task) };
		count_calls(&k, 1, ret, !restart && is_error(ret, nr));
		return 0;
	}

	/* No enter seen. Only a failure can be a call (seccomp denial); a fork
	 * child's 0 and an exec from a non-leader thread are not. */
	if (ret >= 0 || is_restart(ret))
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr >= MAX_SYSCALLS || !in_scope(tgid) || nr_disabled[nr] || !is_error(ret, nr))
		return 0;
	if (!r && task->start_boottime < scope_since) {
		/* We never saw this task enter anything and it predates the scope:
		 * it was already inside this syscall when we started watching. */
		bump(CNT_UNPAIRED_IGNORED);
		return 0;
	}
	struct proc_key k = { .tgid = tgid, .nr = nr, .start = current_start(task) };
	count_calls(&k, 1, ret, true);
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

static __always_inline void send_event(void *ctx, struct event *e)
{
	long err;
	bump(CNT_EVENTS_ATTEMPTED);
	if (use_ringbuf)
		err = bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	else
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	if (err)
		bump(CNT_LOST_BUFFER);
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
SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (!in_scope(tgid))
		return 0;
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];

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
