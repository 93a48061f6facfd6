//go:build ignore

// The floor: empty programs on the raw sys_enter and sys_exit tracepoints. Any
// tracer that watches every syscall's entry and exit through raw tracepoints
// pays at least what these two cost (the trampoline into BPF and back, twice per
// call); whatever a real tracer adds on top is its own doing.

#include "vmlinux.h"
#include "bpf_helpers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("raw_tracepoint/sys_enter")
int floor_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int floor_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}
