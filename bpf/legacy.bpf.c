//go:build ignore

// tlmon's kernel side for kernels the modern object (tlmon.bpf.c) cannot load
// on: rung 3 (the raw_syscalls tracepoints through perf events, 4.7+) and rung 4
// (kprobes and kretprobes on the syscall functions, experimental).
//
// It uses only what 4.4 to 4.16 had: no BTF or CO-RE (no kernel struct is
// read: a tracepoint's fields are at offsets Go takes from tracefs), no global
// data (settings live in the settings map), no bpf-to-bpf calls, no loops, no
// bpf_probe_read_str, at most 4,096 instructions a program (-mcpu=v1). What
// the helpers read or write is on the stack, in sizes known when compiled
// (before 4.10 they took nothing else), and events go to the perf buffer of
// the CPU named by number (BPF_F_CURRENT_CPU came in 4.8).
//
// Go picks, by trying, what the kernel runs:
// - per-CPU maps (4.6), or plain ones in their place: every counter is added
//   atomically, so they count right either way;
// - the syscall hooks with latency histograms, or their _old variants
//   without (verifiers before 4.9 refuse a map value indexed by a variable);
// - the lifecycle from the sched tracepoints (4.7), or from kprobes on
//   do_exit and the kernel's fork function and a successful exec's return.
//
// The maps it shares with the modern object are defined once, in maps.h, with
// the layouts of shared.h, so Go reads both the same way. Counting: a call at
// entry, its error and latency at exit when its entry was seen. A process is
// its tgid and the ktime of the fork that made it while tlmon watched (or its
// /proc start time, which Go writes for processes already running).

/* No CO-RE: the kernel types are plain structs, at the offsets of the
 * target's vmlinux.h. Only the registers a kprobe gets are read (bpf_tracing.h's
 * PT_REGS_*), whose layout is the architecture's ABI. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "shared.h"
#include "maps.h"

/* hist_bucket mirrors model.HistBucket: half-octave buckets. tlmon.bpf.c's
 * looks the octave up in a table, which needs global data. */
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

#define CLONE_THREAD 0x00010000

char LICENSE[] SEC("license") = "GPL";

/* Written by Go (legacyLegacySettings): what the modern object keeps in globals. */
struct legacy_settings {
	__u32 self_tgid;
	__u32 scope_mode;
	__u32 follow_children;
	__u32 failed_only;
	__u32 track_latency;
	__u32 thread_tgid;
	/* kprobes: the syscall function's first argument points to the user's
	 * pt_regs (x86 syscall wrappers, 4.17+); before, the arguments are the
	 * function's own. */
	__u32 args_in_ptregs;
	/* Offsets in the sched tracepoints' records, from tracefs (they moved
	 * across versions); a __data_loc field holds its data's offset and size. */
	__u32 fork_child_pid_off;
	__u32 exec_filename_off; /* the __data_loc */
	/* Non-zero: the processes this one (tlmon) starts join the PID scope,
	 * as a command's cgroup would take them in on rungs 1 and 2. */
	__u32 adopt_tgid;
	/* Non-zero: no tracepoint programs (before 4.7); the lifecycle comes
	 * from kprobes (kp_do_exit, kp_fork_return) and exec's return. */
	__u32 lifecycle_kprobes;
	__u32 exec_old_pid_off; /* sched_process_exec's old_pid */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct legacy_settings);
} settings SEC(".maps");

/* Non-zero: do not count this syscall (the -e filter and class toggles). An
 * entry per syscall: verifiers before 4.9 refuse a variable index into a map
 * value. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u8);
} nr_disabled SEC(".maps");

/* Plain hash (LRU came in 4.10): an entry goes at the call's exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct enter_rec);
} enter_hash SEC(".maps");

/* The ktime of the fork of each process forked while tlmon watched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} proc_starts SEC(".maps");

/* The status a process gave exit_group, for its exit event. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u32);
} exit_status SEC(".maps");

/* kprobes: the syscall number of each syscall function, by the address the
 * probe reports (PT_REGS_IP: on x86 the function's plus the breakpoint's
 * length; Go writes the keys). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, __u64);
	__type(value, __u32);
} kprobe_nrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

static __always_inline struct legacy_settings *get_settings(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&settings, &zero);
}

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool in_scope(struct legacy_settings *s, __u32 tgid)
{
	if (tgid == s->self_tgid)
		return false;
	if (s->scope_mode == SCOPE_ALL)
		return true;
	if (s->scope_mode == SCOPE_PIDS)
		return bpf_map_lookup_elem(&scope_pids, &tgid) != NULL;
	return false; /* SCOPE_NONE; no cgroup scope on these rungs */
}

static __always_inline __u64 proc_start(__u32 tgid)
{
	__u64 *start = bpf_map_lookup_elem(&proc_starts, &tgid);
	return start ? *start : 0;
}

/* proc_start_or_now is a process's start, or now for one not known yet. */
static __always_inline __u64 proc_start_or_now(__u32 tgid)
{
	__u64 *start = bpf_map_lookup_elem(&proc_starts, &tgid);
	if (start)
		return *start;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&proc_starts, &tgid, &now, BPF_NOEXIST);
	start = bpf_map_lookup_elem(&proc_starts, &tgid);
	return start ? *start : now;
}

/* start_of is the start a process's counts and events carry. With the
 * lifecycle from kprobes a child may make calls, or a vfork child exec,
 * before its parent's fork return gives its start: the first of them holds. */
static __always_inline __u64 start_of(struct legacy_settings *s, __u32 tgid)
{
	return s->lifecycle_kprobes ? proc_start_or_now(tgid) : proc_start(tgid);
}

static __always_inline bool nr_off(__u32 nr)
{
	__u8 *off = bpf_map_lookup_elem(&nr_disabled, &nr);
	return !off || *off;
}

static __always_inline void add_counts(struct counts *c, __u64 calls, __u64 errors, __u64 lat, bool timed)
{
	if (calls)
		__sync_fetch_and_add(&c->calls, calls);
	if (errors)
		__sync_fetch_and_add(&c->errors, errors);
	if (timed) {
		__sync_fetch_and_add(&c->lat_sum, lat);
		__sync_fetch_and_add(&c->lat_count, 1);
	}
}

/* count adds a call (calls 1), its error (err non-zero) and its latency
 * (timed) to the syscall's, the process's and the watched thread's counts;
 * to the histograms too, but in the _old programs. */
static __always_inline void count(struct legacy_settings *s, __u64 id, __u32 nr, __u64 calls, __u32 err, __u64 lat,
				  bool timed, const bool old)
{
	__u32 tgid = id >> 32;
	__u64 errors = err != 0;
	__u32 b = timed && !old ? hist_bucket(lat) : HIST_BUCKETS;
	struct sys_counts *sc = bpf_map_lookup_elem(&sys_stats, &nr);
	if (sc) {
		add_counts(&sc->c, calls, errors, lat, timed);
		if (b < HIST_BUCKETS)
			__sync_fetch_and_add(&sc->hist[b], 1);
	}

	struct proc_key k = {.tgid = tgid, .nr = nr, .start = start_of(s, tgid)};
	if (b < HIST_BUCKETS) {
		struct proc_hist *h = bpf_map_lookup_elem(&proc_hists, &k);
		if (!h) {
			struct proc_hist zero = {};
			bpf_map_update_elem(&proc_hists, &k, &zero, BPF_NOEXIST);
			h = bpf_map_lookup_elem(&proc_hists, &k);
		}
		if (h)
			__sync_fetch_and_add(&h->hist[b], 1);
		else
			bump(CNT_LOST_HIST_MAP_FULL);
	}
	struct counts *pc = bpf_map_lookup_elem(&proc_stats, &k);
	if (!pc) {
		struct counts zero = {};
		bpf_map_update_elem(&proc_stats, &k, &zero, BPF_NOEXIST);
		pc = bpf_map_lookup_elem(&proc_stats, &k);
	}
	if (pc) {
		add_counts(pc, calls, errors, lat, timed);
	} else {
		bump(CNT_LOST_PROC_MAP_FULL);
		struct counts *u = bpf_map_lookup_elem(&unattributed, &nr);
		if (u)
			add_counts(u, calls, errors, lat, timed);
	}

	if (err) {
		struct errno_key ek = {.tgid = tgid, .nr = nr, .err = err, .start = k.start};
		__u64 *n = bpf_map_lookup_elem(&errno_stats, &ek);
		if (!n) {
			__u64 zero = 0;
			bpf_map_update_elem(&errno_stats, &ek, &zero, BPF_NOEXIST);
			n = bpf_map_lookup_elem(&errno_stats, &ek);
		}
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bump(CNT_LOST_ERRNO_MAP_FULL);
	}

	if (s->thread_tgid && s->thread_tgid == tgid) {
		__u32 tid = id;
		struct counts *tc = bpf_map_lookup_elem(&thread_stats, &tid);
		if (!tc) {
			struct counts zero = {};
			bpf_map_update_elem(&thread_stats, &tid, &zero, BPF_NOEXIST);
			tc = bpf_map_lookup_elem(&thread_stats, &tid);
		}
		if (tc)
			add_counts(tc, calls, errors, lat, timed);
	}
}

/* on_enter counts a call at its entry and records it for its exit. */
static __always_inline void on_enter(__u64 nr, __u64 *args, const bool old)
{
	struct legacy_settings *s = get_settings();
	if (!s || nr >= MAX_SYSCALLS)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	bool clone = nr == NR_CLONE || nr == NR_CLONE3;
	/* The adopting process's clones are recorded (never counted): its new
	 * threads must not be taken for the processes it starts. */
	bool adopting = s->adopt_tgid && s->adopt_tgid == id >> 32;
	if (!in_scope(s, id >> 32) && !(adopting && clone))
		return;
	/* What the lifecycle events need is kept even of syscalls not counted:
	 * the exit status, and whether a clone makes a thread. */
	if (nr == NR_EXIT_GROUP) {
		__u32 tgid = id >> 32, status = args[0];
		bpf_map_update_elem(&exit_status, &tgid, &status, BPF_ANY);
	}
	bool off = nr_off(nr) || adopting;
	/* A clone's flags tell a thread from a process; with the lifecycle
	 * from kprobes, an exec's return is its event. */
	bool lifecycle = clone || (s->lifecycle_kprobes && (nr == NR_EXECVE || nr == NR_EXECVEAT));
	if (off && !lifecycle)
		return;

	/* The entry is recorded for every call: its exit needs it to tell an
	 * error of a call seen entering from one already running at attach. */
	struct enter_rec r = {.ts = bpf_ktime_get_ns(), .nr = nr, .pad = off};
	if (nr == NR_CLONE)
		r.args[0] = args[0];
	else if (nr == NR_CLONE3)
		bpf_probe_read(&r.args[0], sizeof(r.args[0]), (void *)args[0]); /* clone_args.flags */
	__u32 tid = id;
	if (bpf_map_update_elem(&enter_hash, &tid, &r, BPF_ANY))
		bump(CNT_LOST_ENTER_MAP_FULL);
	if (!off && !s->failed_only)
		count(s, id, nr, 1, 0, 0, false, old);
}

static __always_inline void new_event(struct legacy_settings *s, struct event *e, __u8 kind, __u32 tgid, __u32 tid)
{
	e->kind = kind;
	e->tgid = tgid;
	e->tid = tid;
	e->start = start_of(s, tgid);
	e->time = bpf_ktime_get_ns();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

/* send_event writes e (on the stack, as helpers before 4.10 want) to this
 * CPU's perf buffer, named by number (BPF_F_CURRENT_CPU came in 4.8). */
static __always_inline void send_event(void *ctx, struct event *e)
{
	bump(CNT_EVENTS_ATTEMPTED);
	if (bpf_perf_event_output(ctx, &events, bpf_get_smp_processor_id(), e, sizeof(*e)))
		bump(CNT_LOST_LIFECYCLE); /* rungs 3 and 4 send only lifecycle events */
}

/* on_exit adds a call's error and latency. nr is the number the exit reports
 * (tracepoints), or MAX_SYSCALLS where only the entry knows it (kprobes). */
static __always_inline void on_exit(void *ctx, __u64 nr, long ret, const bool old)
{
	struct legacy_settings *s = get_settings();
	if (!s)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id;
	struct enter_rec *r = bpf_map_lookup_elem(&enter_hash, &tid);
	if (!r) {
		/* A call already running at attach (or out of scope, or not
		 * counted); a new task's return from fork or clone. */
		if (nr < MAX_SYSCALLS && in_scope(s, id >> 32) && ret != 0 && !nr_off(nr))
			bump(CNT_UNPAIRED_IGNORED);
		return;
	}
	__u64 ts = r->ts;
	__u32 rnr = r->nr, uncounted = r->pad;
	bpf_map_delete_elem(&enter_hash, &tid);
	if (rnr >= MAX_SYSCALLS || (nr < MAX_SYSCALLS && nr != rnr))
		return;
	if (s->lifecycle_kprobes && ret == 0 && (rnr == NR_EXECVE || rnr == NR_EXECVEAT)) {
		/* An exec done: the comm is the new program's (the path is gone
		 * with the old memory). */
		struct event e = {};
		new_event(s, &e, EVENT_EXEC, id >> 32, id);
		send_event(ctx, &e);
	}
	if (uncounted)
		return;
	if (ret <= -512 && ret >= -516) {
		bump(CNT_RESTARTS);
		return; /* the call is made again: it is counted then */
	}
	__u32 err = 0;
	if (ret < 0 && ret >= -MAX_ERRNO && rnr != NR_RT_SIGRETURN)
		err = -ret;
	if (s->failed_only && !err)
		return;
	__u64 lat = bpf_ktime_get_ns() - ts;
	count(s, id, rnr, s->failed_only ? 1 : 0, err, lat, s->track_latency != 0, old);
}

/* raw_syscalls:sys_enter and sys_exit: the record's id and args (or ret) sit
 * at offsets 8 and 16 in every kernel that has them (Go checks tracefs). */
struct syscall_enter_args {
	__u64 common;
	long id;
	__u64 args[6];
};

struct syscall_exit_args {
	__u64 common;
	long id;
	long ret;
};

static __always_inline void tp_enter(struct syscall_enter_args *ctx, const bool old)
{
	__u64 args[6];
	args[0] = ctx->args[0];
	on_enter(ctx->id, args, old);
}

static __always_inline void tp_exit(struct syscall_exit_args *ctx, const bool old)
{
	long nr = ctx->id;
	if (nr >= 0 && nr < MAX_SYSCALLS)
		on_exit(ctx, nr, ctx->ret, old);
}

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct syscall_enter_args *ctx)
{
	tp_enter(ctx, false);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit(struct syscall_exit_args *ctx)
{
	tp_exit(ctx, false);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter_old(struct syscall_enter_args *ctx)
{
	tp_enter(ctx, true);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit_old(struct syscall_exit_args *ctx)
{
	tp_exit(ctx, true);
	return 0;
}

/* kprobes: ctx is the registers at the probe (struct pt_regs, without CO-RE:
 * its layout is the ABI's; on arm64 bpf_tracing.h reads it as the uapi's
 * user_pt_regs). The syscall function's first argument is its own first
 * argument or, behind the syscall wrappers (x86 4.17+, arm64 4.19+), the
 * user's registers, where the syscall's first argument is the first again
 * (on arm64 regs[0] still holds it: the return value comes after). */
static __always_inline void kp_enter(struct pt_regs *ctx, const bool old)
{
	__u64 ip = PT_REGS_IP(ctx);
	__u32 *nr = bpf_map_lookup_elem(&kprobe_nrs, &ip);
	if (!nr)
		return;
	struct legacy_settings *s = get_settings();
	if (!s)
		return;
	__u64 args[6];
	args[0] = PT_REGS_PARM1(ctx);
	if (s->args_in_ptregs) {
		struct pt_regs *user = (struct pt_regs *)PT_REGS_PARM1(ctx);
		bpf_probe_read(&args[0], sizeof(args[0]), &PT_REGS_PARM1(user));
	}
	on_enter(*nr, args, old);
}

SEC("kprobe/syscall")
int kp_sys_enter(struct pt_regs *ctx)
{
	kp_enter(ctx, false);
	return 0;
}

SEC("kretprobe/syscall")
int kp_sys_exit(struct pt_regs *ctx)
{
	on_exit(ctx, MAX_SYSCALLS, PT_REGS_RC(ctx), false);
	return 0;
}

SEC("kprobe/syscall")
int kp_sys_enter_old(struct pt_regs *ctx)
{
	kp_enter(ctx, true);
	return 0;
}

SEC("kretprobe/syscall")
int kp_sys_exit_old(struct pt_regs *ctx)
{
	on_exit(ctx, MAX_SYSCALLS, PT_REGS_RC(ctx), true);
	return 0;
}

/* is_thread says whether the clone the current task is in makes a thread:
 * its entry record holds the flags. */
static __always_inline bool is_thread(__u32 tid)
{
	struct enter_rec *r = bpf_map_lookup_elem(&enter_hash, &tid);
	return r && (r->nr == NR_CLONE || r->nr == NR_CLONE3) && (r->args[0] & CLONE_THREAD);
}

/* on_fork notes a new process child, started at now, made by the current
 * task, and sends its fork event: in the parent, from the sched tracepoint
 * or the fork function's return. */
static __always_inline void on_fork(void *ctx, __u32 child, __u64 now)
{
	struct legacy_settings *s = get_settings();
	if (!s)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 ptgid = id >> 32, tid = id;
	bool adopt = s->adopt_tgid && s->adopt_tgid == ptgid;
	if (!adopt && !in_scope(s, ptgid))
		return;
	if (is_thread(tid))
		return;
	/* A child that made calls before its parent's return has its start. */
	bpf_map_update_elem(&proc_starts, &child, &now, BPF_NOEXIST);
	if (s->scope_mode == SCOPE_PIDS) {
		if (!s->follow_children && !adopt)
			return;
		__u8 one = 1;
		if (bpf_map_update_elem(&scope_pids, &child, &one, BPF_ANY))
			bump(CNT_LOST_SCOPE_MAP_FULL);
	}
	if (adopt)
		return; /* its parent, tlmon, is not watched: as a command's cgroup scope */
	struct event e = {};
	new_event(s, &e, EVENT_FORK, child, child);
	e.ppid = ptgid;
	e.parent_start = proc_start(ptgid);
	send_event(ctx, &e);
}

/* sched:sched_process_fork, in the parent. A clone of a thread is no new
 * process: the parent's pending clone says which it is. */
SEC("tracepoint/sched/sched_process_fork")
int tp_sched_fork(void *ctx)
{
	struct legacy_settings *s = get_settings();
	if (!s)
		return 0;
	__u32 child = 0;
	bpf_probe_read(&child, sizeof(child), ctx + (s->fork_child_pid_off & 0xff));
	/* The PID may be reused: the fork replaces what its last holder left. */
	bpf_map_delete_elem(&proc_starts, &child);
	on_fork(ctx, child, bpf_ktime_get_ns());
	return 0;
}

/* The kernel's fork function (kernel_clone, _do_fork, do_fork) returns the
 * child's PID to the parent: the fork where there are no tracepoint
 * programs. */
SEC("kretprobe/fork")
int kp_fork_return(struct pt_regs *ctx)
{
	long child = PT_REGS_RC(ctx);
	if (child > 0)
		on_fork(ctx, child, bpf_ktime_get_ns());
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_sched_exec(void *ctx)
{
	struct legacy_settings *s = get_settings();
	if (!s)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	/* A thread that execs takes its leader's id: the entry record under its
	 * own would stay in the hash for good. Dropped whatever the scope: the
	 * leader's exit on the way has taken the process out of a PID scope.
	 * (Exec's kretprobe, the lifecycle before 4.7, does not know that id.) */
	__u32 old_tid = 0;
	bpf_probe_read(&old_tid, sizeof(old_tid), ctx + (s->exec_old_pid_off & 0xff));
	if (old_tid && old_tid != (__u32)id)
		bpf_map_delete_elem(&enter_hash, &old_tid);
	if (!in_scope(s, id >> 32))
		return 0;
	struct event e = {};
	new_event(s, &e, EVENT_EXEC, id >> 32, id);
	/* One read of the whole buffer (helpers before 4.10 take only sizes
	 * known when compiled): the path ends at its NUL, what follows is
	 * ignored. */
	__u32 loc = 0;
	bpf_probe_read(&loc, sizeof(loc), ctx + (s->exec_filename_off & 0xff));
	bpf_probe_read(&e.filename, sizeof(e.filename), ctx + (loc & 0xffff));
	e.filename[FILENAME_LEN - 1] = 0;
	send_event(ctx, &e);
	return 0;
}

/* on_task_exit ends a task: the process with its leader, the last of its
 * threads in all but rare cases. code is the status as do_exit has it, or
 * -1 where only exit_group's is known. */
static __always_inline void on_task_exit(void *ctx, long code)
{
	struct legacy_settings *s = get_settings();
	if (!s)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = id;
	/* exit and exit_group never return: their entries go here. */
	bpf_map_delete_elem(&enter_hash, &tid);
	if (tid != tgid || !in_scope(s, tgid))
		return;
	struct event e = {};
	new_event(s, &e, EVENT_EXIT, tgid, id);
	if (code >= 0) {
		e.exit_code = code >> 8;
		e.exit_signal = code & 0x7f;
		e.core_dumped = (code & 0x80) != 0;
	} else {
		__u32 *status = bpf_map_lookup_elem(&exit_status, &tgid);
		if (status)
			e.exit_code = *status & 0xff;
	}
	bpf_map_delete_elem(&exit_status, &tgid);
	send_event(ctx, &e);
	bpf_map_delete_elem(&proc_starts, &tgid);
	if (s->scope_mode == SCOPE_PIDS)
		bpf_map_delete_elem(&scope_pids, &tgid);
}

/* sched:sched_process_exit fires for every thread. The status is what the
 * process gave exit_group; a process killed by a signal shows none. */
SEC("tracepoint/sched/sched_process_exit")
int tp_sched_exit(void *ctx)
{
	on_task_exit(ctx, -1);
	return 0;
}

/* do_exit(code), every task's end: the exit where there are no tracepoint
 * programs, with the whole status (a signal's too). */
SEC("kprobe/do_exit")
int kp_do_exit(struct pt_regs *ctx)
{
	on_task_exit(ctx, PT_REGS_PARM1(ctx) & 0xffff);
	return 0;
}
