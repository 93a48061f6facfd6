//go:build ignore

// A test's object: hist_bucket_of runs tlmon.bpf.c's hist_bucket (hist.h) on a
// latency, for TestKernelBucketsLatencyAsTheModel. Its generated files end in
// _test: only the package's tests embed it.

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "shared.h"
#include "hist.h"

SEC("raw_tracepoint/hist_bucket_of")
int hist_bucket_of(struct bpf_raw_tracepoint_args *ctx)
{
	return hist_bucket(ctx->args[0]);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
