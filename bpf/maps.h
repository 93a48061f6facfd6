/* The maps tlmon.bpf.c (rungs 1 and 2) and legacy.bpf.c (rungs 3 and 4)
 * define alike: same name, type, key, value and size, so Go reads and
 * sizes them the same way from either object. A map only one object has,
 * or that differs between them (enter_hash is LRU only where the kernel has
 * LRU; events is a ring buffer or a perf buffer; the syscall filter and the
 * settings are globals in one and maps in the other), stays in its .c file.
 * Include after bpf_helpers.h and shared.h. */
#ifndef TLMON_MAPS_H
#define TLMON_MAPS_H

/* The system-wide truth: every call, error and latency per syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct sys_counts);
} sys_stats SEC(".maps");

/* Counts whose process had no room in proc_stats. */
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

/* Losses and other events, by enum counter slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The PID scope: the processes watched when scope_mode is SCOPE_PIDS. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} scope_pids SEC(".maps");

#endif
